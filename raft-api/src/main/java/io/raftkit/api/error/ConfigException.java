package io.raftkit.api.error;

/** A configuration value breaks a rule; the message names the field, its value and the rule. */
public class ConfigException extends RaftException {
  private static final long serialVersionUID = 1L;

  private final String field;

  /** Creates the error. */
  public ConfigException(final String field, final String message) {
    super(ErrorCode.CONFIG, message);
    this.field = field;
  }

  /** Creates the error with a code other than {@link ErrorCode#CONFIG}. */
  protected ConfigException(final ErrorCode code, final String field, final String message) {
    super(code, message);
    this.field = field;
  }

  /** The field or option that is wrong. */
  public String field() {
    return field;
  }
}
