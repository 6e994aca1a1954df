package io.raftkit.api.error;

import java.util.List;

/** No storage, transport or engine provider of the requested name was found. */
public final class ProviderNotFoundException extends ConfigException {
  private static final long serialVersionUID = 1L;

  private final List<String> available;

  /**
   * Creates the error.
   *
   * @param kind what was looked for ("storage", "transport", "engine")
   * @param name the name asked for
   * @param available the names that were found
   * @param problems providers that failed to load, as messages; may be empty
   */
  public ProviderNotFoundException(
      final String kind, final String name, final List<String> available, final List<String> problems) {
    super(
        ErrorCode.PROVIDER_NOT_FOUND,
        kind,
        "no "
            + kind
            + " provider named '"
            + name
            + "'; found "
            + (available.isEmpty() ? "none" : available)
            + (problems.isEmpty() ? "" : "; providers that failed to load: " + problems));
    this.available = List.copyOf(available);
  }

  /** The provider names that were found. */
  public List<String> available() {
    return available;
  }
}
