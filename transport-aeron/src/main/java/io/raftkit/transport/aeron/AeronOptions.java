package io.raftkit.transport.aeron;

import io.raftkit.api.error.ConfigException;
import io.raftkit.api.spi.TransportContext;

/**
 * The options of one aeron transport, read from {@link TransportContext#options()}; every key
 * starts with {@code aeron.}. See {@link AeronTransportProvider} for what each means.
 */
record AeronOptions(
    boolean embedded,
    String dir,
    boolean ipc,
    int streamId,
    int termLength,
    int maxFrameBytes,
    int maxQueuedPerPeer,
    long maxQueuedBytesPerPeer,
    long idleMaxParkNanos,
    long driverTimeoutMs,
    int maxLinks,
    int mtu) {

  static final String EMBEDDED = "aeron.embedded";
  static final String DIR = "aeron.dir";
  static final String IPC = "aeron.ipc";
  static final String STREAM_ID = "aeron.streamId";
  static final int STREAM_ID_DEFAULT = 0x5246;
  static final String TERM_LENGTH = "aeron.termLength";
  static final int TERM_LENGTH_DEFAULT = 2 << 20;
  static final String MAX_FRAME_BYTES = "aeron.maxFrameBytes";
  static final int MAX_FRAME_BYTES_DEFAULT = 32 << 20;
  static final String MAX_QUEUED_PER_PEER = "aeron.maxQueuedPerPeer";
  static final int MAX_QUEUED_PER_PEER_DEFAULT = 65_536;
  static final String MAX_QUEUED_BYTES_PER_PEER = "aeron.maxQueuedBytesPerPeer";
  static final long MAX_QUEUED_BYTES_PER_PEER_DEFAULT = 64L << 20;
  static final String IDLE_MAX_PARK_MICROS = "aeron.idleMaxParkMicros";
  static final long IDLE_MAX_PARK_MICROS_DEFAULT = 1_000;
  static final String DRIVER_TIMEOUT_MS = "aeron.driverTimeoutMs";
  static final long DRIVER_TIMEOUT_MS_DEFAULT = 10_000;
  static final String MAX_LINKS = "aeron.maxLinks";
  static final int MAX_LINKS_DEFAULT = 256;
  static final String MTU = "aeron.mtu";
  /** {@value}: {@link #mtu()} chosen per peer address (see {@link #mtuFor}). */
  static final int MTU_AUTO = 0;
  /** Aeron's own default MTU, which fits a 1500-byte Ethernet frame with IP and UDP headers. */
  static final int MTU_NETWORK = 1408;
  /** The largest UDP payload Aeron sends: what a loopback interface (MTU 65536) carries whole. */
  static final int MTU_MAX = 65_504;
  /** Aeron frames are aligned to this many bytes; an MTU must be a multiple of it. */
  private static final int FRAME_ALIGNMENT = 32;
  /** The smallest MTU accepted: room for Aeron's data header and our envelope with data. */
  private static final int MTU_MIN = 1024;

  /**
   * Reads and checks the options.
   *
   * @throws ConfigException naming the first bad option
   */
  static AeronOptions from(final TransportContext context) {
    final boolean embedded = bool(context, EMBEDDED, true);
    final String dir = context.option(DIR, null);
    if (!embedded && (dir == null || dir.isBlank())) {
      throw new ConfigException(DIR, EMBEDDED + "=false needs " + DIR + ", the external media driver's directory");
    }
    final int termLength = (int) longOption(context, TERM_LENGTH, TERM_LENGTH_DEFAULT, 64 << 10, 1 << 30);
    if (Integer.bitCount(termLength) != 1) {
      throw new ConfigException(TERM_LENGTH, TERM_LENGTH + "=" + termLength + " must be a power of two");
    }
    return new AeronOptions(
        embedded,
        dir == null || dir.isBlank() ? null : dir,
        bool(context, IPC, false),
        (int) longOption(context, STREAM_ID, STREAM_ID_DEFAULT, 1, Integer.MAX_VALUE),
        termLength,
        (int) longOption(context, MAX_FRAME_BYTES, MAX_FRAME_BYTES_DEFAULT, 1024, 1 << 30),
        (int) longOption(context, MAX_QUEUED_PER_PEER, MAX_QUEUED_PER_PEER_DEFAULT, 1, Integer.MAX_VALUE),
        longOption(context, MAX_QUEUED_BYTES_PER_PEER, MAX_QUEUED_BYTES_PER_PEER_DEFAULT, 1, Long.MAX_VALUE),
        longOption(context, IDLE_MAX_PARK_MICROS, IDLE_MAX_PARK_MICROS_DEFAULT, 1, 1_000_000) * 1_000,
        longOption(context, DRIVER_TIMEOUT_MS, DRIVER_TIMEOUT_MS_DEFAULT, 100, Integer.MAX_VALUE),
        (int) longOption(context, MAX_LINKS, MAX_LINKS_DEFAULT, 1, 1 << 16),
        mtu(context, termLength));
  }

  /**
   * The MTU of publications to {@code host}: the {@code aeron.mtu} option if set, else the
   * largest Aeron sends ({@value #MTU_MAX}, capped by the term length's largest message) for a
   * loopback host ({@code localhost}, {@code 127.x.x.x}, {@code ::1}), whose interface carries
   * such datagrams whole, and Aeron's default ({@value #MTU_NETWORK}) for any other host, where a
   * larger datagram would be split by IP fragmentation (one lost fragment loses it all).
   */
  int mtuFor(final String host) {
    if (mtu != MTU_AUTO) {
      return mtu;
    }
    return isLoopback(host) ? Math.min(MTU_MAX, termLength / 8) : MTU_NETWORK;
  }

  /** Whether a host names the loopback interface, decided without name resolution. */
  static boolean isLoopback(final String host) {
    if (host.equalsIgnoreCase("localhost") || host.equals("::1") || host.equals("0:0:0:0:0:0:0:1")) {
      return true;
    }
    return host.startsWith("127.") && TransportAgent.isIpLiteral(host);
  }

  private static int mtu(final TransportContext context, final int termLength) {
    final String raw = context.option(MTU, null);
    if (raw == null || raw.trim().equals("auto")) {
      return MTU_AUTO;
    }
    final int max = Math.min(MTU_MAX, termLength / 8);
    final int value = (int) longOption(context, MTU, MTU_AUTO, MTU_MIN, max);
    if (value % FRAME_ALIGNMENT != 0) {
      throw new ConfigException(MTU, MTU + "=" + raw + " must be a multiple of " + FRAME_ALIGNMENT);
    }
    return value;
  }

  private static boolean bool(final TransportContext context, final String key, final boolean fallback) {
    final String raw = context.option(key, null);
    if (raw == null) {
      return fallback;
    }
    switch (raw.trim()) {
      case "true":
        return true;
      case "false":
        return false;
      default:
        throw new ConfigException(key, key + "=" + raw + " must be true or false");
    }
  }

  private static long longOption(
      final TransportContext context, final String key, final long fallback, final long min, final long max) {
    final String raw = context.option(key, null);
    if (raw == null) {
      return fallback;
    }
    final long value;
    try {
      value = Long.parseLong(raw.trim());
    } catch (final NumberFormatException e) {
      throw new ConfigException(key, key + "=" + raw + " is not an integer");
    }
    if (value < min || value > max) {
      throw new ConfigException(key, key + "=" + raw + " must be in [" + min + ", " + max + "]");
    }
    return value;
  }
}
