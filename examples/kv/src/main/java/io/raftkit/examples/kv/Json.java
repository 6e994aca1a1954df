package io.raftkit.examples.kv;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A tiny JSON encoder and a strict parser for flat request bodies, so that the example needs no
 * JSON library.
 *
 * <p>The parser accepts exactly one object whose values are strings, numbers, {@code true},
 * {@code false}, {@code null} or arrays of those (RFC 8259 grammar; no objects in values and no
 * arrays in arrays, no duplicate names, nothing after the object but whitespace) and reports the
 * first problem with its character offset. The encoder
 * writes strings, numbers, booleans, {@code null}, maps (as objects) and collections (as arrays).
 */
final class Json {

  private Json() {}

  /** A body or value that is not what the parser accepts; the message says what and where. */
  static final class JsonException extends Exception {
    private static final long serialVersionUID = 1L;

    JsonException(final String message) {
      super(message);
    }
  }

  /**
   * Decodes {@code bytes} as strict UTF-8 and parses one flat object.
   *
   * @return the members in order; JSON {@code null} is a {@code null} value, numbers are the
   *     {@link String} of their literal wrapped in {@link JsonNumber}, arrays are unmodifiable
   *     {@link java.util.List}s (which may hold {@code null})
   * @throws JsonException if the bytes are not UTF-8 or not a flat JSON object
   */
  static Map<String, Object> parseObject(final byte[] bytes) throws JsonException {
    final String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (final CharacterCodingException e) {
      throw new JsonException("body is not valid UTF-8");
    }
    return new Parser(text).object();
  }

  /** A JSON number, kept as its literal text (it is validated, not converted). */
  record JsonNumber(String literal) {}

  private static final class Parser {
    private final String s;
    private int pos;

    Parser(final String s) {
      this.s = s;
    }

    Map<String, Object> object() throws JsonException {
      skipWhitespace();
      if (pos >= s.length()) {
        throw new JsonException("body is empty; expected a JSON object");
      }
      expect('{', "'{' to start an object");
      final Map<String, Object> members = new LinkedHashMap<>();
      skipWhitespace();
      if (peek() == '}') {
        pos++;
      } else {
        while (true) {
          skipWhitespace();
          if (peek() != '"') {
            throw error("a string member name");
          }
          final String name = string();
          if (members.containsKey(name)) {
            throw new JsonException("duplicate member name=\"" + name + "\" at offset " + pos);
          }
          skipWhitespace();
          expect(':', "':' after a member name");
          skipWhitespace();
          members.put(name, value());
          skipWhitespace();
          final int c = peek();
          if (c == ',') {
            pos++;
          } else if (c == '}') {
            pos++;
            break;
          } else {
            throw error("',' or '}'");
          }
        }
      }
      skipWhitespace();
      if (pos < s.length()) {
        throw new JsonException("unexpected data after the object at offset " + pos);
      }
      return members;
    }

    private Object value() throws JsonException {
      if (peek() == '[') {
        pos++;
        final java.util.List<Object> items = new java.util.ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
          pos++;
          return java.util.Collections.unmodifiableList(items);
        }
        while (true) {
          skipWhitespace();
          if (peek() == '[') {
            throw new JsonException("nested arrays are not accepted (offset " + pos + "); arrays hold flat values");
          }
          items.add(scalar());
          skipWhitespace();
          final int c = peek();
          if (c == ',') {
            pos++;
          } else if (c == ']') {
            pos++;
            return java.util.Collections.unmodifiableList(items);
          } else {
            throw error("',' or ']'");
          }
        }
      }
      return scalar();
    }

    private Object scalar() throws JsonException {
      final int c = peek();
      if (c == '"') {
        return string();
      }
      if (c == '{') {
        throw new JsonException(
            "nested objects are not accepted (offset " + pos + "); values are flat");
      }
      if (c == '-' || (c >= '0' && c <= '9')) {
        return number();
      }
      if (s.startsWith("true", pos)) {
        pos += 4;
        return Boolean.TRUE;
      }
      if (s.startsWith("false", pos)) {
        pos += 5;
        return Boolean.FALSE;
      }
      if (s.startsWith("null", pos)) {
        pos += 4;
        return null;
      }
      throw error("a value (string, number, true, false or null)");
    }

    private JsonNumber number() throws JsonException {
      final int start = pos;
      if (peek() == '-') {
        pos++;
      }
      if (peek() == '0') {
        pos++;
      } else if (isDigit(peek())) {
        digits();
      } else {
        throw error("a digit");
      }
      if (peek() == '.') {
        pos++;
        if (!isDigit(peek())) {
          throw error("a digit after '.'");
        }
        digits();
      }
      if (peek() == 'e' || peek() == 'E') {
        pos++;
        if (peek() == '+' || peek() == '-') {
          pos++;
        }
        if (!isDigit(peek())) {
          throw error("a digit in the exponent");
        }
        digits();
      }
      return new JsonNumber(s.substring(start, pos));
    }

    private void digits() {
      while (isDigit(peek())) {
        pos++;
      }
    }

    private static boolean isDigit(final int c) {
      return c >= '0' && c <= '9';
    }

    private String string() throws JsonException {
      pos++; // the opening quote
      final StringBuilder out = new StringBuilder();
      while (true) {
        if (pos >= s.length()) {
          throw new JsonException("unterminated string at offset " + pos);
        }
        final char c = s.charAt(pos++);
        if (c == '"') {
          return out.toString();
        }
        if (c < 0x20) {
          throw new JsonException("unescaped control character in a string at offset " + (pos - 1));
        }
        if (c != '\\') {
          out.append(c);
          continue;
        }
        if (pos >= s.length()) {
          throw new JsonException("unterminated escape at offset " + pos);
        }
        final char e = s.charAt(pos++);
        switch (e) {
          case '"' -> out.append('"');
          case '\\' -> out.append('\\');
          case '/' -> out.append('/');
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case 'u' -> out.append(hex4());
          default -> throw new JsonException("bad escape '\\" + e + "' at offset " + (pos - 2));
        }
      }
    }

    private char hex4() throws JsonException {
      if (pos + 4 > s.length()) {
        throw new JsonException("truncated \\u escape at offset " + pos);
      }
      int v = 0;
      for (int i = 0; i < 4; i++) {
        final int d = Character.digit(s.charAt(pos + i), 16);
        if (d < 0) {
          throw new JsonException("bad hex digit in \\u escape at offset " + (pos + i));
        }
        v = v * 16 + d;
      }
      pos += 4;
      return (char) v;
    }

    private void skipWhitespace() {
      while (pos < s.length()) {
        final char c = s.charAt(pos);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
          return;
        }
        pos++;
      }
    }

    private int peek() {
      return pos < s.length() ? s.charAt(pos) : -1;
    }

    private void expect(final char c, final String what) throws JsonException {
      if (peek() != c) {
        throw error(what);
      }
      pos++;
    }

    private JsonException error(final String expected) {
      return new JsonException(
          pos >= s.length()
              ? "unexpected end of body; expected " + expected
              : "unexpected '" + s.charAt(pos) + "' at offset " + pos + "; expected " + expected);
    }
  }

  /**
   * Encodes {@code value}: {@link String}, {@link Number}, {@link JsonNumber}, {@link Boolean},
   * {@code null}, {@link Map} (keys by {@code toString()}) or {@link Collection}; anything else by
   * its {@code toString()} as a string.
   */
  static String encode(final Object value) {
    final StringBuilder out = new StringBuilder();
    write(out, value);
    return out.toString();
  }

  private static void write(final StringBuilder out, final Object value) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof Boolean || value instanceof Integer || value instanceof Long) {
      out.append(value);
    } else if (value instanceof JsonNumber n) {
      out.append(n.literal());
    } else if (value instanceof Number n) {
      final double d = n.doubleValue();
      out.append(Double.isFinite(d) ? n.toString() : "null");
    } else if (value instanceof Map<?, ?> map) {
      out.append('{');
      boolean first = true;
      for (final Map.Entry<?, ?> e : map.entrySet()) {
        if (!first) {
          out.append(',');
        }
        first = false;
        writeString(out, String.valueOf(e.getKey()));
        out.append(':');
        write(out, e.getValue());
      }
      out.append('}');
    } else if (value instanceof Collection<?> list) {
      out.append('[');
      boolean first = true;
      for (final Object o : list) {
        if (!first) {
          out.append(',');
        }
        first = false;
        write(out, o);
      }
      out.append(']');
    } else {
      writeString(out, value.toString());
    }
  }

  private static void writeString(final StringBuilder out, final String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      final char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
