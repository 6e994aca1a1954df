package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

  @Test
  void shouldParseEveryFlatValueKind() throws Exception {
    final Map<String, Object> m = Json.parseObject(
        " {\"s\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\",\"n\":-12.5e3,\"t\":true,\"f\":false,\"z\":null} "
            .getBytes(StandardCharsets.UTF_8));
    assertThat(m).containsOnlyKeys("s", "n", "t", "f", "z");
    assertThat(m.get("s")).isEqualTo("a\"b\\c\né😀");
    assertThat(m.get("n")).isEqualTo(new Json.JsonNumber("-12.5e3"));
    assertThat(m.get("t")).isEqualTo(true);
    assertThat(m.get("f")).isEqualTo(false);
    assertThat(m).containsEntry("z", null);
    assertThat(Json.parseObject("{}".getBytes(StandardCharsets.UTF_8))).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "", "   ", "{", "}", "[]", "\"a\"", "null", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{a:1}",
      "{\"a\":{}}", "{\"a\":[[1]]}", "{\"a\":[{}]}", "{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":[1", "{\"a\":1}{}", "{\"a\":1} x", "{\"a\":1,\"a\":2}", "{\"a\":\"\\x\"}",
      "{\"a\":\"\\u12\"}", "{\"a\":\"unterminated}", "{\"a\":\"tab\there\"}", "{\"a\":01}", "{\"a\":-}",
      "{\"a\":1.}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}", "{'a':1}"})
  void shouldRefuseWhatIsNotAFlatObject(final String body) {
    assertThatThrownBy(() -> Json.parseObject(body.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(Json.JsonException.class)
        .hasMessageMatching(".*(offset|expected|empty|nested|duplicate|unterminated).*");
  }

  @Test
  void shouldParseFlatArrays() throws Exception {
    final Map<String, Object> m = Json.parseObject(
        "{\"ids\":[ 4 , 5 ],\"e\":[],\"mixed\":[\"a\",true,null,-1.5]}".getBytes(StandardCharsets.UTF_8));
    assertThat(m.get("ids")).isEqualTo(List.of(new Json.JsonNumber("4"), new Json.JsonNumber("5")));
    assertThat(m.get("e")).isEqualTo(List.of());
    assertThat(m.get("mixed")).isEqualTo(Arrays.asList("a", true, null, new Json.JsonNumber("-1.5")));
  }

  @Test
  void shouldRefuseInvalidUtf8() {
    final byte[] body = {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, '"', '}'};
    assertThatThrownBy(() -> Json.parseObject(body)).hasMessageContaining("UTF-8");
  }

  @Test
  void shouldEncodeNestedValuesAndEscapeStrings() {
    final Map<String, Object> m = new LinkedHashMap<>();
    m.put("s", "q\"\\\n\u0001é");
    m.put("n", 42L);
    m.put("b", true);
    m.put("z", null);
    m.put("l", List.of(1, 2));
    m.put("m", Map.of("k", "v"));
    assertThat(Json.encode(m))
        .isEqualTo("{\"s\":\"q\\\"\\\\\\n\\u0001é\",\"n\":42,\"b\":true,\"z\":null,\"l\":[1,2],\"m\":{\"k\":\"v\"}}");
  }

  @Test
  void shouldReadBackWhatItWrites() throws Exception {
    final char[] all = new char[200];
    Arrays.setAll(new int[all.length], i -> all[i] = (char) i);
    final String s = new String(all) + "\u2028😀";
    final Map<String, Object> back =
        Json.parseObject(Json.encode(Map.of("v", s)).getBytes(StandardCharsets.UTF_8));
    assertThat(back.get("v")).isEqualTo(s);
  }
}
