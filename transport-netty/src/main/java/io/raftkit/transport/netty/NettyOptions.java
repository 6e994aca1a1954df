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
    String trustStorePassword,
    Path certChain,
    Path privateKey,
    Path trustCerts,
    boolean tlsRequired) {

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
  static final String CERT_CHAIN = "netty.tls.certChain";
  static final String PRIVATE_KEY = "netty.tls.privateKey";
  static final String TRUST_CERTS = "netty.tls.trustCerts";
  static final String TLS_REQUIRED = "netty.tls.required";

  /** Whether TLS is configured (a key and a trust source are both set, checked by {@link #from}). */
  boolean tls() {
    return keyStore != null || certChain != null;
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
    final String certChain = context.option(CERT_CHAIN, null);
    final String privateKey = context.option(PRIVATE_KEY, null);
    final String trustCerts = context.option(TRUST_CERTS, null);
    final boolean required = booleanOption(context, TLS_REQUIRED, false);
    if ((certChain == null) != (privateKey == null)) {
      throw new ConfigException(certChain == null ? CERT_CHAIN : PRIVATE_KEY,
          "a PEM key needs both " + CERT_CHAIN + " and " + PRIVATE_KEY + ", but only "
              + (certChain == null ? PRIVATE_KEY + "=" + privateKey : CERT_CHAIN + "=" + certChain) + " is set");
    }
    if (keyStore != null && certChain != null) {
      throw new ConfigException(CERT_CHAIN, "set either " + KEY_STORE + " (PKCS12) or " + CERT_CHAIN + " and "
          + PRIVATE_KEY + " (PEM), not both: " + KEY_STORE + "=" + keyStore + ", " + CERT_CHAIN + "=" + certChain);
    }
    if (trustStore != null && trustCerts != null) {
      throw new ConfigException(TRUST_CERTS, "set either " + TRUST_STORE + " (PKCS12) or " + TRUST_CERTS
          + " (PEM), not both: " + TRUST_STORE + "=" + trustStore + ", " + TRUST_CERTS + "=" + trustCerts);
    }
    final boolean hasKey = keyStore != null || certChain != null;
    final boolean hasTrust = trustStore != null || trustCerts != null;
    if (hasKey != hasTrust) {
      throw new ConfigException(
          hasKey ? TRUST_STORE : KEY_STORE,
          "mutual TLS needs this node's key (" + KEY_STORE + ", or " + CERT_CHAIN + " and " + PRIVATE_KEY
              + ") and the certificates it trusts (" + TRUST_STORE + " or " + TRUST_CERTS + "), but only the "
              + (hasKey ? "key" : "trust") + " is set");
    }
    if (required && !hasKey) {
      throw new ConfigException(TLS_REQUIRED, TLS_REQUIRED + "=true but no TLS key or trust is set: set "
          + KEY_STORE + " and " + TRUST_STORE + " (PKCS12), or " + CERT_CHAIN + ", " + PRIVATE_KEY + " and "
          + TRUST_CERTS + " (PEM)");
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
        context.option(TRUST_STORE_PASSWORD, ""),
        certChain == null ? null : Path.of(certChain),
        privateKey == null ? null : Path.of(privateKey),
        trustCerts == null ? null : Path.of(trustCerts),
        required);
  }

  private static boolean booleanOption(final TransportContext context, final String key, final boolean fallback) {
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
