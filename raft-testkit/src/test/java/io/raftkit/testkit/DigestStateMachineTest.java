package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DigestStateMachineTest {

  private static Entry normal(final long index, final String payload) {
    return Entry.normal(LogId.of(1, index), payload.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void shouldStartEmpty() {
    final DigestStateMachine sm = new DigestStateMachine();

    assertThat(sm.lastApplied()).isEqualTo(LogId.ZERO);
    assertThat(sm.appliedCount()).isZero();
    assertThat(sm.digest()).isEqualTo(DigestStateMachine.EMPTY_DIGEST);
  }

  @Test
  void shouldReturnCountOfCommandsAndTrackLastApplied() {
    final DigestStateMachine sm = new DigestStateMachine();

    assertThat(sm.apply(Entry.membership(LogId.of(1, 1), Membership.ofVoters(Map.of(1L, "node1"))))).isNull();
    assertThat(sm.apply(Entry.blank(LogId.of(1, 2)))).isNull();
    assertThat(sm.apply(normal(3, "a"))).isEqualTo(1L);
    assertThat(sm.apply(normal(4, "b"))).isEqualTo(2L);

    assertThat(sm.lastApplied()).isEqualTo(LogId.of(1, 4));
    assertThat(sm.progress()).isEqualTo(new DigestStateMachine.Progress(LogId.of(1, 4), 2, sm.digest()));
  }

  @Test
  void shouldGiveSameDigestForSameCommandsAndDifferentForOtherOrderOrSplit() {
    final DigestStateMachine ab = new DigestStateMachine();
    ab.apply(normal(1, "a"));
    ab.apply(normal(2, "b"));
    final DigestStateMachine abAgain = new DigestStateMachine();
    abAgain.apply(normal(1, "a"));
    abAgain.apply(normal(2, "b"));
    final DigestStateMachine ba = new DigestStateMachine();
    ba.apply(normal(1, "b"));
    ba.apply(normal(2, "a"));
    final DigestStateMachine joined = new DigestStateMachine();
    joined.apply(normal(1, "ab"));
    joined.apply(normal(2, ""));

    assertThat(abAgain.digest()).isEqualTo(ab.digest());
    assertThat(ba.digest()).isNotEqualTo(ab.digest());
    assertThat(joined.digest()).isNotEqualTo(ab.digest());
    assertThat(ab.digest())
        .isEqualTo(
            DigestStateMachine.fold(
                DigestStateMachine.fold(DigestStateMachine.EMPTY_DIGEST, new byte[] {'a'}), new byte[] {'b'}));
  }

  @Test
  void shouldRefuseEntryThatIsNotNext() {
    final DigestStateMachine sm = new DigestStateMachine();
    sm.apply(normal(1, "a"));

    assertThatThrownBy(() -> sm.apply(normal(3, "c")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expected index=2");
    assertThatThrownBy(() -> sm.apply(normal(1, "a"))).isInstanceOf(IllegalStateException.class);
    assertThat(sm.appliedCount()).isEqualTo(1);
  }
}
