package io.raftkit.api.spi;

import io.raftkit.api.error.ConfigException;
import io.raftkit.api.error.ProviderNotFoundException;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * Finds providers by name with {@link ServiceLoader}.
 *
 * <p>A provider that fails to load is reported in the error rather than hiding the others; an
 * unknown name fails with the list of names found; two providers with one name fail too. There is
 * never a silent fallback: a do-nothing storage would lose data without telling anyone.
 *
 * <p>System properties override the names an application asks for: {@value #STORAGE_PROPERTY}
 * and {@value #TRANSPORT_PROPERTY}.
 */
public final class Providers {

  /** The SPI version of this raft-api. A provider built against another version is refused. */
  public static final int API_VERSION = 1;
  /** System property that overrides the storage provider name. */
  public static final String STORAGE_PROPERTY = "raftkit.storage";
  /** System property that overrides the transport provider name. */
  public static final String TRANSPORT_PROPERTY = "raftkit.transport";

  private Providers() {}

  /** The storage provider named {@code name} (or the one named by the override property). */
  public static StorageProvider storage(final String name) {
    return find(
        "storage",
        System.getProperty(STORAGE_PROPERTY, name),
        ServiceLoader.load(StorageProvider.class),
        StorageProvider::name,
        StorageProvider::apiVersion);
  }

  /** The transport provider named {@code name} (or the one named by the override property). */
  public static TransportProvider transport(final String name) {
    return find(
        "transport",
        System.getProperty(TRANSPORT_PROPERTY, name),
        ServiceLoader.load(TransportProvider.class),
        TransportProvider::name,
        TransportProvider::apiVersion);
  }

  /** The engine provider named {@code name}. */
  public static RaftEngineProvider engine(final String name) {
    return find(
        "engine",
        name,
        ServiceLoader.load(RaftEngineProvider.class),
        RaftEngineProvider::name,
        RaftEngineProvider::apiVersion);
  }

  /** The names of the storage providers found. */
  public static List<String> storageNames() {
    return names(ServiceLoader.load(StorageProvider.class), StorageProvider::name);
  }

  /** The names of the transport providers found. */
  public static List<String> transportNames() {
    return names(ServiceLoader.load(TransportProvider.class), TransportProvider::name);
  }

  private static <P> List<String> names(final ServiceLoader<P> loader, final Function<P, String> nameOf) {
    final TreeSet<String> names = new TreeSet<>();
    for (final ServiceLoader.Provider<P> p : loader.stream().toList()) {
      try {
        names.add(nameOf.apply(p.get()));
      } catch (final ServiceConfigurationError | RuntimeException e) {
        // reported by find(); a listing skips it
      }
    }
    return List.copyOf(names);
  }

  private static <P> P find(
      final String kind,
      final String name,
      final ServiceLoader<P> loader,
      final Function<P, String> nameOf,
      final ToIntFunction<P> versionOf) {
    if (name == null || name.isBlank()) {
      throw new ConfigException(kind, kind + " provider name must not be blank");
    }
    final TreeSet<String> found = new TreeSet<>();
    final List<String> problems = new ArrayList<>();
    final List<P> matches = new ArrayList<>();
    final java.util.Iterator<P> it = loader.iterator();
    while (true) {
      final P provider;
      try {
        if (!it.hasNext()) {
          break;
        }
        provider = it.next();
      } catch (final ServiceConfigurationError e) {
        problems.add(e.getMessage());
        continue;
      }
      final String providerName;
      try {
        providerName = nameOf.apply(provider);
      } catch (final RuntimeException e) {
        problems.add(provider.getClass().getName() + ": " + e);
        continue;
      }
      found.add(providerName);
      if (name.equals(providerName)) {
        matches.add(provider);
      }
    }
    if (matches.isEmpty()) {
      throw new ProviderNotFoundException(kind, name, List.copyOf(found), problems);
    }
    if (matches.size() > 1) {
      final List<String> classes = new ArrayList<>();
      for (final P p : matches) {
        classes.add(p.getClass().getName());
      }
      throw new ConfigException(
          kind, "more than one " + kind + " provider is named '" + name + "': " + classes);
    }
    final P provider = matches.get(0);
    final int version = versionOf.applyAsInt(provider);
    if (version != API_VERSION) {
      throw new ConfigException(
          kind,
          kind
              + " provider '"
              + name
              + "' ("
              + provider.getClass().getName()
              + ") has apiVersion="
              + version
              + " but this raft-api has API_VERSION="
              + API_VERSION);
    }
    return provider;
  }
}
