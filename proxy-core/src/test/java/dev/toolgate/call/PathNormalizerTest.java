package dev.toolgate.call;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PathNormalizerTest {

    static Stream<Arguments> accepted() {
        return Stream.of(
                // rule 1: origin-form; "//" is a path, never an authority (CVE-2026-26205)
                arguments("/", "/", null),
                arguments("/admin", "/admin", null),
                arguments("//admin", "/admin", null),
                arguments("//evil.example/x", "/evil.example/x", null),
                // rule 3: fragment dropped (CVE-2021-32779)
                arguments("/admin#frag", "/admin", null),
                arguments("/a?x=1#frag?y", "/a", "x=1"),
                arguments("/a#f?x=1", "/a", null),
                arguments("/#", "/", null),
                // rule 4: query kept verbatim, including what the path would refuse
                arguments("/a?x=%2F&y=1", "/a", "x=%2F&y=1"),
                arguments("/a/../b?p=/../%00%zz", "/b", "p=/../%00%zz"),
                arguments("/a?b?c", "/a", "b?c"),
                arguments("/a?", "/a", ""),
                arguments("/?x", "/", "x"),
                // rule 5: unreserved decoded once, the rest kept and uppercased
                arguments("/public/%2e%2e/admin", "/admin", null),
                arguments("/public/%2E./admin", "/admin", null),
                arguments("/public/.%2E/admin", "/admin", null),
                arguments("/a/%41", "/a/A", null),
                arguments("/%7e%2D%5f%30z", "/~-_0z", null),
                arguments("/a/%3b/b", "/a/%3B/b", null),
                arguments("/a%3f%23%20b", "/a%3F%23%20b", null),
                arguments("/100%25", "/100%25", null),
                arguments("/100%25off", "/100%25off", null),
                arguments("/caf%c3%a9", "/caf%C3%A9", null),
                arguments("/%F0%9F%98%80", "/%F0%9F%98%80", null),
                // rule 6: allowed raw characters; '\' becomes '/'
                arguments("/a-b.c_d~e!$&'()*+,=:@", "/a-b.c_d~e!$&'()*+,=:@", null),
                arguments("/a\\..\\admin", "/admin", null),
                arguments("/a\\b", "/a/b", null),
                // rule 7: path parameters removed per segment; encoded ';' is data
                arguments("/a;jsessionid=1/b", "/a/b", null),
                arguments("/public/..;/admin", "/admin", null),
                arguments("/public/..;x=1/admin", "/admin", null),
                arguments("/a;x/;y/b;z", "/a/b", null),
                arguments("/a/.;x/b", "/a/b", null),
                arguments("/a/b;c=%2e%2e", "/a/b", null),
                // rule 8: merge slashes, resolve dot segments, keep a trailing slash
                arguments("/info/../private", "/private", null),
                arguments("/../../etc/passwd", "/etc/passwd", null),
                arguments("/a/./b/../c/", "/a/c/", null),
                arguments("/a/b/", "/a/b/", null),
                arguments("/a/b/.", "/a/b/", null),
                arguments("/a/..", "/", null),
                arguments("/a/b/..", "/a/", null),
                arguments("/..", "/", null),
                arguments("/.", "/", null),
                arguments("/a//b///c//", "/a/b/c/", null),
                arguments("/a//../b", "/b", null),
                arguments("/...", "/...", null),
                arguments("/a/.b/..c", "/a/.b/..c", null));
    }

    @ParameterizedTest(name = "{0} -> {1} ? {2}")
    @MethodSource("accepted")
    void acceptsAndNormalizes(String raw, String path, String query) throws Exception {
        assertThat(PathNormalizer.normalize(raw)).isEqualTo(new RequestTarget(path, query));
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                // rule 1
                arguments("", "empty request target"),
                arguments("http://evil/x", "only origin-form"),
                arguments("example.com:443", "only origin-form"),
                arguments("*", "only origin-form"),
                arguments("admin", "only origin-form"),
                arguments("?x=1", "only origin-form"),
                // rule 2, including in the query and the fragment
                arguments("/a b", "non-printable or non-ASCII"),
                arguments("/a\tb", "non-printable or non-ASCII"),
                arguments("/a\u0000", "non-printable or non-ASCII"),
                arguments("/a\r\nX-Evil: 1", "non-printable or non-ASCII"),
                arguments("/a\u007f", "non-printable or non-ASCII"),
                arguments("/caf\u00e9", "non-printable or non-ASCII"),
                arguments("/a?q=\u0430dmin", "non-printable or non-ASCII"),
                arguments("/a#x y", "non-printable or non-ASCII"),
                // rule 5
                arguments("/a%", "invalid percent-encoding"),
                arguments("/a%4", "invalid percent-encoding"),
                arguments("/a%zz", "invalid percent-encoding"),
                arguments("/a%4?x=1", "invalid percent-encoding"),
                arguments("/a/%00", "encoded NUL (%00)"),
                arguments("/a/%2F/b", "encoded slash (%2F)"),
                arguments("/a%2fb", "encoded slash (%2F)"),
                arguments("/a%5Cb", "encoded backslash (%5C)"),
                arguments("/a%5c..%5cadmin", "encoded backslash (%5C)"),
                arguments("/%252e%252e/x", "double percent-encoding"),
                arguments("/a%252F", "double percent-encoding"),
                arguments("/a%2525", "double percent-encoding"),
                arguments("/a%25%32%65", "double percent-encoding"),
                arguments("/a;p=%252e/b", "double percent-encoding"),
                arguments("/a;%2F/b", "encoded slash (%2F)"),
                // beyond the listed rules: decoded controls and malformed UTF-8
                arguments("/a%0d%0aSet-Cookie:x", "encoded control character"),
                arguments("/a%7F", "encoded control character"),
                arguments("/%c0%ae%c0%ae/admin", "invalid UTF-8"),
                arguments("/%c0%af", "invalid UTF-8"),
                arguments("/%e0%80%ae", "invalid UTF-8"),
                arguments("/%ed%a0%80", "invalid UTF-8"),
                arguments("/%c3", "invalid UTF-8"),
                arguments("/%c3/", "invalid UTF-8"),
                arguments("/%c3%41", "invalid UTF-8"),
                arguments("/%80", "invalid UTF-8"),
                arguments("/%ff", "invalid UTF-8"),
                // rule 6
                arguments("/a\"b", "character '\"' not allowed in path"),
                arguments("/a<b>", "character '<' not allowed in path"),
                arguments("/a[0]", "character '[' not allowed in path"),
                arguments("/a^b", "character '^' not allowed in path"),
                arguments("/a`b", "character '`' not allowed in path"),
                arguments("/a{b}", "character '{' not allowed in path"),
                arguments("/a|b", "character '|' not allowed in path"));
    }

    @ParameterizedTest(name = "{0} refused: {1}")
    @MethodSource("refused")
    void refusesWithReason(String raw, String reason) {
        assertThatThrownBy(() -> PathNormalizer.normalize(raw))
                .isInstanceOf(RejectedTargetException.class)
                .hasMessageContaining(reason);
    }

    @Test
    void refusesNull() {
        assertThatThrownBy(() -> PathNormalizer.normalize(null))
                .isInstanceOf(RejectedTargetException.class)
                .hasMessageContaining("empty request target");
    }

    @Test
    void acceptsUpToMaxLengthAndRefusesLonger() throws Exception {
        String longest = "/" + "a".repeat(PathNormalizer.MAX_TARGET_LENGTH - 1);
        assertThat(PathNormalizer.normalize(longest).path()).isEqualTo(longest);
        assertThatThrownBy(() -> PathNormalizer.normalize(longest + "a"))
                .isInstanceOf(RejectedTargetException.class)
                .hasMessageContaining("longer than 8192");
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void isIdempotentOnItsOwnOutput(String raw) throws Exception {
        RequestTarget once = PathNormalizer.normalize(raw);
        assertThat(PathNormalizer.normalize(once.toUri())).isEqualTo(once);
    }

    @Test
    void refusalCarriesNoStackTrace() {
        assertThatThrownBy(() -> PathNormalizer.normalize("/a%2Fb"))
                .isInstanceOfSatisfying(RejectedTargetException.class,
                        e -> assertThat(e.getStackTrace()).isEmpty());
    }

    @Test
    void toUriAppendsQueryOnlyWhenPresent() {
        assertThat(new RequestTarget("/a", null).toUri()).isEqualTo("/a");
        assertThat(new RequestTarget("/a", "").toUri()).isEqualTo("/a?");
        assertThat(new RequestTarget("/a", "x=%2F").toUri()).isEqualTo("/a?x=%2F");
    }

    @Test
    void requestTargetRequiresAnAbsolutePath() {
        assertThatThrownBy(() -> new RequestTarget(null, "x"))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("path");
        assertThatThrownBy(() -> new RequestTarget("a/b", null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("path: a/b (expected: starts with '/')");
    }
}
