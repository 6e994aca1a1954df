package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What raft-kv has for the chaos test: {@code serve --peer-route} (each node dials its peers
 * through a proxy per link) and the state digest of {@code GET /admin/digest}.
 */
class ChaosHooksTest {

  private static final String PEERS =
      "1=127.0.0.1:7001@127.0.0.1:8001,2=127.0.0.1:7002@127.0.0.1:8002,3=127.0.0.1:7003@127.0.0.1:8003";

  @Test
  void shouldParsePeerRoutes() throws Exception {
    final Cli.Serve s = (Cli.Serve) Cli.parse(new String[] {
        "serve", "--id", "1", "--peers", PEERS, "--storage", "memory",
        "--peer-route", "2=127.0.0.1:9012,3=127.0.0.1:9013"});
    assertThat(s.settings().peerRoutes()).isEqualTo(Map.of(2L, "127.0.0.1:9012", 3L, "127.0.0.1:9013"));
    // The membership keeps the real addresses: only this node's dialing changes.
    assertThat(s.settings().initialMembership().nodes()).containsEntry(2L, "127.0.0.1:7002");
    final Cli.Serve none = (Cli.Serve) Cli.parse(new String[] {"serve", "--id", "1", "--peers", PEERS,
        "--storage", "memory"});
    assertThat(none.settings().peerRoutes()).isEmpty();
  }

  @Test
  void shouldRefuseBadPeerRoutesNamingTheOption() {
    for (final String bad : new String[] {"9=127.0.0.1:1", "2=nohost", "x=127.0.0.1:1", "2=127.0.0.1:1,2=127.0.0.1:2",
        "127.0.0.1:1"}) {
      assertThatThrownBy(() -> Cli.parse(new String[] {"serve", "--id", "1", "--peers", PEERS, "--storage", "memory",
          "--peer-route", bad}))
          .as(bad)
          .isInstanceOfSatisfying(Cli.UsageException.class, e -> assertThat(e.option()).isEqualTo("--peer-route"));
    }
  }

  @Test
  void shouldGiveEqualDigestsForEqualStatesOnly() {
    final KvStateMachine a = new KvStateMachine();
    final KvStateMachine b = new KvStateMachine();
    final KvStateMachine c = new KvStateMachine();
    a.apply(Entry.normal(LogId.of(1, 1), KvCommand.put("k", "v").encode()));
    a.apply(Entry.normal(LogId.of(1, 2), KvCommand.put("k2", "v2").encode()));
    b.apply(Entry.normal(LogId.of(1, 1), KvCommand.put("k", "v").encode()));
    b.apply(Entry.normal(LogId.of(1, 2), KvCommand.put("k2", "v2").encode()));
    // Same keys and values concatenated differently: the lengths keep them apart.
    c.apply(Entry.normal(LogId.of(1, 1), KvCommand.put("k", "vk2").encode()));
    c.apply(Entry.normal(LogId.of(1, 2), KvCommand.put("2", "v2").encode()));
    assertThat(a.digest()).isEqualTo(b.digest());
    assertThat(a.digest().keys()).isEqualTo(2);
    assertThat(a.digest().lastApplied()).isEqualTo(LogId.of(1, 2));
    assertThat(c.digest().sha256()).isNotEqualTo(a.digest().sha256());
    assertThat(a.digest().toJson(3)).containsEntry("node", 3L).containsEntry("keys", 2);
  }
}
