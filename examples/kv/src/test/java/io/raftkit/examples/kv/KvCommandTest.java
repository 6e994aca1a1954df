package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class KvCommandTest {

  @Test
  void shouldRoundTripEveryOp() {
    for (final KvCommand c : List.of(
        KvCommand.put("k", "v"),
        KvCommand.put("ключ/😀", ""),
        KvCommand.delete("k"),
        KvCommand.get("k"),
        KvCommand.cas("k", null, "new"),
        KvCommand.cas("k", "", "new"),
        KvCommand.cas("k", "old", "new"),
        KvCommand.put("x".repeat(KvCommand.MAX_KEY_BYTES), "v".repeat(100_000)))) {
      assertThat(KvCommand.decode(c.encode())).isEqualTo(c);
    }
  }

  @Test
  void shouldEncodeCompactly() {
    assertThat(KvCommand.put("k", "v").encode()).hasSize(5);
    assertThat(KvCommand.get("key").encode()).hasSize(6);
    assertThat(KvCommand.cas("k", null, "v").encode()).hasSize(6);
  }

  @Test
  void shouldRefuseBadBytes() {
    final byte[] put = KvCommand.put("key", "value").encode();
    assertThatThrownBy(() -> KvCommand.decode(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KvCommand.decode(new byte[] {9, 0, 1, 'k'})).hasMessageContaining("op code=9");
    assertThatThrownBy(() -> KvCommand.decode(java.util.Arrays.copyOf(put, 4)))
        .isInstanceOf(IllegalArgumentException.class);
    final byte[] get = KvCommand.get("k").encode();
    final byte[] trailing = java.util.Arrays.copyOf(get, get.length + 1);
    assertThatThrownBy(() -> KvCommand.decode(trailing)).hasMessageContaining("trailing");
    assertThatThrownBy(() -> KvCommand.decode(new byte[] {1, 0, 1, (byte) 0xFF}))
        .hasMessageContaining("UTF-8");
  }

  @Test
  void shouldValidateKeys() {
    assertThat(KvCommand.keyProblem("a")).isNull();
    assertThat(KvCommand.keyProblem("a b/c?d😀")).isNull();
    assertThat(KvCommand.keyProblem("x".repeat(256))).isNull();
    assertThat(KvCommand.keyProblem("")).contains("empty");
    assertThat(KvCommand.keyProblem(null)).contains("empty");
    assertThat(KvCommand.keyProblem("x".repeat(257))).contains("keyBytes=257");
    assertThat(KvCommand.keyProblem("é".repeat(129))).contains("keyBytes=258");
    assertThat(KvCommand.keyProblem("a\nb")).contains("control");
    assertThat(KvCommand.keyProblem("a\u007fb")).contains("control");
    assertThat(KvCommand.keyProblem("a\u0085b")).contains("control");
    assertThat(KvCommand.keyProblem("a\ud800b")).contains("surrogate");
    assertThatThrownBy(() -> KvCommand.put("", "v")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new KvCommand(KvCommand.Op.PUT, "k", null, null)).hasMessageContaining("needs a value");
  }
}
