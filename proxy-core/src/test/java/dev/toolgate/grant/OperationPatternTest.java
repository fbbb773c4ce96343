package dev.toolgate.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OperationPatternTest {

    @ParameterizedTest(name = "{0} matches {1} {2}: {3}")
    @CsvSource({
            "GET /forecast,        GET,  /forecast,          true",
            "GET /forecast,        POST, /forecast,          false",
            "GET /forecast,        GET,  /forecast/,         false",
            "GET /forecast,        GET,  /forecasts,         false",
            "GET /forecast,        GET,  /forecas,           false",
            "GET /forecast,        GET,  /forecast/oslo,     false",
            "GET /forecast/*,      GET,  /forecast/oslo,     true",
            "GET /forecast/*,      GET,  /forecast,          false",
            "GET /forecast/*,      GET,  /forecast/,         false",
            "GET /forecast/*,      GET,  /forecast/oslo/day, false",
            "GET /forecast/**,     GET,  /forecast,          true",
            "GET /forecast/**,     GET,  /forecast/oslo/day, true",
            "GET /forecast/**,     GET,  /forecastx,         false",
            "GET /*/day,           GET,  /oslo/day,          true",
            "GET /*/day,           GET,  /oslo/night,        false",
            "* /**,                DELETE, /anything/at/all, true",
            "* /,                  GET,  /,                  true",
            "* /,                  GET,  /x,                 false",
            "GET /a/**,            get,  /a,                 false",
    })
    void matchesExactlyWhatItSays(String pattern, String method, String path, boolean expected) {
        assertThat(OperationPattern.parse(pattern).matches(method, path)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "GET|expected: METHOD /path",
            "GET  /a|expected: METHOD /path",
            "get /a|upper-case HTTP method",
            "GET a|starting with /",
            "GET /a/**/b|** is allowed only as the last segment",
            "GET /a*|not a normalized path segment, * or **",
            "GET /a/../b|not a normalized path segment",
            "GET /a//b|not a normalized path segment",
            "GET /a/./b|not a normalized path segment",
            "GET /a?x=1|not a normalized path segment",
    })
    void refusesWhatANormalizedPathCannotContain(String pattern, String reason) {
        assertThatThrownBy(() -> OperationPattern.parse(pattern))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(reason);
    }

    @ParameterizedTest(name = "{0} within {1}: {2}")
    @CsvSource({
            "GET /a,        GET /a,     true",
            "GET /a,        * /a,       true",
            "* /a,          GET /a,     false",
            "GET /a/b,      GET /a/*,   true",
            "GET /a/*,      GET /a/b,   false",
            "GET /a/b/c,    GET /a/**,  true",
            "GET /a/**,     GET /a/**,  true",
            "GET /a/b/**,   GET /a/**,  true",
            "GET /a/**,     GET /a/b/**, false",
            "GET /a/**,     GET /a/*,   false",
            "GET /a,        GET /a/**,  true",
            "GET /b,        GET /a/**,  false",
            "GET /a/*,      GET /a/**,  true",
    })
    void withinIsTheSubsetRelation(String narrow, String wide, boolean expected) {
        assertThat(OperationPattern.parse(narrow).within(OperationPattern.parse(wide))).isEqualTo(expected);
    }
}
