package io.raftkit.bench;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The options of the {@code raft-bench} command, parsed and checked.
 *
 * @param nodes the number of nodes, 1..9
 * @param transport the transport provider name ({@code local}, {@code netty}, {@code aeron})
 * @param storage the storage provider name ({@code memory}, {@code file}, {@code rocksdb})
 * @param clients the number of closed-loop clients, each with one write outstanding
 * @param payloadBytes the size of each write
 * @param seconds the measured time, in seconds
 * @param warmupSeconds the time run before measuring, in seconds
 * @param sync whether the log is synced to disk; {@code false} for {@code memory}
 * @param dataDir where durable storage puts its node directories (a fresh temporary directory
 *     under it is used and deleted afterwards)
 * @param providerOptions options passed to every node's storage and transport providers ({@code
 *     --option key=value}, repeatable), such as {@code file.preallocate=false}
 * @param commitLingerMicros the engine's {@code Config.commitLinger}, in microseconds ({@code
 *     --commit-linger-us}; 0 tells idle followers of a commit at once)
 */
public record BenchOptions(
    int nodes,
    String transport,
    String storage,
    int clients,
    int payloadBytes,
    int seconds,
    int warmupSeconds,
    boolean sync,
    Path dataDir,
    Map<String, String> providerOptions,
    int commitLingerMicros) {

  /** The transports the command knows how to address; others are refused. */
  public static final Set<String> TRANSPORTS = Set.of("local", "netty", "aeron");

  /** The storages the command knows how to configure; others are refused. */
  public static final Set<String> STORAGES = Set.of("memory", "file", "rocksdb");

  /** The usage text. */
  public static final String USAGE =
      String.join(
          "\n",
          "usage: raft-bench [--nodes 3] [--transport netty|aeron|local] [--storage file|rocksdb|memory]",
          "                  [--clients 128] [--payload 128] [--seconds 15] [--warmup 5] [--sync true|false]",
          "                  [--dir <directory for durable storage, default java.io.tmpdir>]",
          "                  [--option key=value ...  (a provider option, e.g. file.preallocate=false)]",
          "                  [--commit-linger-us 1000  (Config.commitLinger; 0: commit-only appends at once)]",
          "  --sync defaults to true for file and rocksdb and to false for memory (which cannot sync);",
          "  file and rocksdb have no option to skip fsync, so --sync false is refused for them.");

  /**
   * Parses command-line arguments ({@code --name value} or {@code --name=value}).
   *
   * @param args the arguments
   * @return the options
   * @throws UsageException naming the offending option
   */
  public static BenchOptions parse(final List<String> args) {
    int nodes = 3;
    String transport = "netty";
    String storage = "file";
    int clients = 128;
    int payload = 128;
    int seconds = 15;
    int warmup = 5;
    String sync = null;
    Path dir = Path.of(System.getProperty("java.io.tmpdir"));
    final Map<String, String> providerOptions = new LinkedHashMap<>();
    int commitLingerMicros = (int) (io.raftkit.api.Config.COMMIT_LINGER_DEFAULT.toNanos() / 1_000);
    for (int i = 0; i < args.size(); i++) {
      final String arg = args.get(i);
      if (!arg.startsWith("--")) {
        throw new UsageException(arg, "unexpected argument '" + arg + "'");
      }
      final String name;
      final String value;
      final int eq = arg.indexOf('=');
      if (eq > 0) {
        name = arg.substring(2, eq);
        value = arg.substring(eq + 1);
      } else {
        name = arg.substring(2);
        if (name.equals("help")) {
          throw new UsageException("--help", "help requested");
        }
        if (i + 1 >= args.size()) {
          throw new UsageException("--" + name, "option --" + name + " needs a value");
        }
        value = args.get(++i);
      }
      switch (name) {
        case "nodes" -> nodes = intOption(name, value, 1, 9);
        case "transport" -> transport = choice(name, value, TRANSPORTS);
        case "storage" -> storage = choice(name, value, STORAGES);
        case "clients" -> clients = intOption(name, value, 1, 100_000);
        case "payload" -> payload = intOption(name, value, 1, 16 << 20);
        case "seconds" -> seconds = intOption(name, value, 1, 86_400);
        case "warmup" -> warmup = intOption(name, value, 0, 86_400);
        case "sync" -> sync = choice(name, value, Set.of("true", "false"));
        case "dir" -> dir = Path.of(value);
        case "commit-linger-us" -> commitLingerMicros = intOption(name, value, 0,
            (int) (io.raftkit.api.Config.HEARTBEAT_INTERVAL_DEFAULT.toNanos() / 1_000) - 1); // below the heartbeat
        case "option" -> {
          final int at = value.indexOf('=');
          if (at <= 0) {
            throw new UsageException("--option", "--option " + value + ": must be key=value");
          }
          providerOptions.put(value.substring(0, at).trim(), value.substring(at + 1).trim());
        }
        default -> throw new UsageException("--" + name, "unknown option --" + name);
      }
    }
    final boolean durable = !storage.equals("memory");
    final boolean syncOn;
    if (sync == null) {
      syncOn = durable;
    } else {
      syncOn = Boolean.parseBoolean(sync);
      if (syncOn && !durable) {
        throw new UsageException("--sync", "--sync true: storage 'memory' keeps the log in memory and cannot sync");
      }
      if (!syncOn && durable) {
        throw new UsageException(
            "--sync",
            "--sync false: storage '" + storage + "' always syncs its log (it has no option to skip fsync); "
                + "use --sync true, or --storage memory for a run without disk");
      }
    }
    return new BenchOptions(nodes, transport, storage, clients, payload, seconds, warmup, syncOn, dir,
        Map.copyOf(providerOptions), commitLingerMicros);
  }

  private static int intOption(final String name, final String value, final int min, final int max) {
    final int n;
    try {
      n = Integer.parseInt(value.trim());
    } catch (final NumberFormatException e) {
      throw new UsageException("--" + name, "--" + name + " " + value + ": not an integer");
    }
    if (n < min || n > max) {
      throw new UsageException("--" + name, "--" + name + " " + value + ": must be within [" + min + ", " + max + "]");
    }
    return n;
  }

  private static String choice(final String name, final String value, final Set<String> allowed) {
    final String v = value.trim().toLowerCase(Locale.ROOT);
    if (!allowed.contains(v)) {
      throw new UsageException(
          "--" + name, "--" + name + " " + value + ": must be one of " + allowed.stream().sorted().toList());
    }
    return v;
  }

  /** A bad command line: the message names the option. */
  public static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String option;

    /**
     * Creates the exception.
     *
     * @param option the offending option (or argument)
     * @param message what is wrong
     */
    public UsageException(final String option, final String message) {
      super(message);
      this.option = option;
    }

    /**
     * The offending option.
     *
     * @return the option, such as {@code --clients}
     */
    public String option() {
      return option;
    }
  }
}
