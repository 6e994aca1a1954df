package io.raftkit.transport.netty;

import io.raftkit.api.error.ConfigException;
import io.raftkit.api.spi.TransportContext;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The options of one netty transport, read from {@link TransportContext#options()}; every key
 * starts with {@code netty.}. See {@link NettyTransportProvider} for what each means.
 */
record NettyOptions(
    int maxFrameBytes,
    int ioThreads,
    String channelType,
    Duration connectTimeout,
    Duration handshakeTimeout,
    Duration backoffMin,
    Duration backoffMax,
    int maxQueuedPerPeer,
    int writeBufferLowWaterMark,
    int writeBufferHighWaterMark,
    Path keyStore,
    String keyStorePassword,
    Path trustStore,
    String trustStorePassword) {

  static final String MAX_FRAME_BYTES = "netty.maxFrameBytes";
  static final int MAX_FRAME_BYTES_DEFAULT = 32 << 20;
  static final String IO_THREADS = "netty.ioThreads";
  static final String CHANNEL_TYPE = "netty.channelType";
  static final String CONNECT_TIMEOUT_MS = "netty.connectTimeoutMs";
  static final long CONNECT_TIMEOUT_MS_DEFAULT = 2_000;
  static final String HANDSHAKE_TIMEOUT_MS = "netty.handshakeTimeoutMs";
  static final long HANDSHAKE_TIMEOUT_MS_DEFAULT = 5_000;
  static final String BACKOFF_MIN_MS = "netty.reconnectBackoffMinMs";
  static final long BACKOFF_MIN_MS_DEFAULT = 20;
  static final String BACKOFF_MAX_MS = "netty.reconnectBackoffMaxMs";
  static final long BACKOFF_MAX_MS_DEFAULT = 1_000;
  static final String MAX_QUEUED_PER_PEER = "netty.maxQueuedPerPeer";
  static final int MAX_QUEUED_PER_PEER_DEFAULT = 65_536;
  static final String LOW_WATER_MARK = "netty.writeBufferLowWaterMark";
  static final int LOW_WATER_MARK_DEFAULT = 1 << 20;
  static final String HIGH_WATER_MARK = "netty.writeBufferHighWaterMark";
  static final int HIGH_WATER_MARK_DEFAULT = 8 << 20;
  static final String KEY_STORE = "netty.tls.keyStore";
  static final String KEY_STORE_PASSWORD = "netty.tls.keyStorePassword";
  static final String TRUST_STORE = "netty.tls.trustStore";
  static final String TRUST_STORE_PASSWORD = "netty.tls.trustStorePassword";

  /** Whether TLS is configured. */
  boolean tls() {
    return keyStore != null;
  }

  /**
   * Reads and checks the options.
   *
   * @throws ConfigException naming the first bad option
   */
  static NettyOptions from(final TransportContext context) {
    final int maxFrame = intOption(context, MAX_FRAME_BYTES, MAX_FRAME_BYTES_DEFAULT, 1024, Integer.MAX_VALUE - 4);
    final int threads =
        intOption(context, IO_THREADS, Math.min(2, Runtime.getRuntime().availableProcessors()), 1, 1024);
    final String type = context.option(CHANNEL_TYPE, "auto");
    if (!type.equals("auto") && !type.equals("epoll") && !type.equals("nio")) {
      throw new ConfigException(CHANNEL_TYPE, CHANNEL_TYPE + "=" + type + " must be one of auto, epoll, nio");
    }
    final long connectMs = longOption(context, CONNECT_TIMEOUT_MS, CONNECT_TIMEOUT_MS_DEFAULT, 1, Integer.MAX_VALUE);
    final long handshakeMs = longOption(context, HANDSHAKE_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS_DEFAULT, 1, Long.MAX_VALUE);
    final long backoffMin = longOption(context, BACKOFF_MIN_MS, BACKOFF_MIN_MS_DEFAULT, 0, Long.MAX_VALUE);
    final long backoffMax = longOption(context, BACKOFF_MAX_MS, BACKOFF_MAX_MS_DEFAULT, backoffMin, Long.MAX_VALUE);
    final int maxQueued = intOption(context, MAX_QUEUED_PER_PEER, MAX_QUEUED_PER_PEER_DEFAULT, 1, Integer.MAX_VALUE);
    final int low = intOption(context, LOW_WATER_MARK, LOW_WATER_MARK_DEFAULT, 1, Integer.MAX_VALUE);
    final int high = intOption(context, HIGH_WATER_MARK, Math.max(HIGH_WATER_MARK_DEFAULT, low), low, Integer.MAX_VALUE);
    final String keyStore = context.option(KEY_STORE, null);
    final String trustStore = context.option(TRUST_STORE, null);
    if ((keyStore == null) != (trustStore == null)) {
      throw new ConfigException(
          keyStore == null ? KEY_STORE : TRUST_STORE,
          "mutual TLS needs both " + KEY_STORE + " and " + TRUST_STORE + " (PKCS12 files), but only "
              + (keyStore == null ? TRUST_STORE + "=" + trustStore : KEY_STORE + "=" + keyStore) + " is set");
    }
    return new NettyOptions(
        maxFrame,
        threads,
        type,
        Duration.ofMillis(connectMs),
        Duration.ofMillis(handshakeMs),
        Duration.ofMillis(backoffMin),
        Duration.ofMillis(backoffMax),
        maxQueued,
        low,
        high,
        keyStore == null ? null : Path.of(keyStore),
        context.option(KEY_STORE_PASSWORD, ""),
        trustStore == null ? null : Path.of(trustStore),
        context.option(TRUST_STORE_PASSWORD, ""));
  }

  private static int intOption(
      final TransportContext context, final String key, final int fallback, final int min, final int max) {
    return (int) longOption(context, key, fallback, min, max);
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

  @Override
  public String toString() {
    // Passwords stay out of logs.
    return "NettyOptions{maxFrameBytes=" + maxFrameBytes + ", ioThreads=" + ioThreads + ", channelType="
        + channelType + ", connectTimeout=" + connectTimeout + ", handshakeTimeout=" + handshakeTimeout
        + ", backoff=" + backoffMin + ".." + backoffMax + ", maxQueuedPerPeer=" + maxQueuedPerPeer
        + ", writeBufferWaterMark=" + writeBufferLowWaterMark + ".." + writeBufferHighWaterMark + ", tls=" + tls()
        + "}";
  }
}
