package dev.toolgate.audit;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The built-in redaction every captured argument value goes through (see {@link ArgumentCapture}). Each rule
 * replaces what it finds with a mark naming the rule, e.g. {@code [REDACTED:jwt]}, so a reader knows what kind of
 * value was there without seeing it. Rules run in the order listed: the specific shapes first, the entropy rule
 * last (it would otherwise eat them with a less useful name). Stateless and thread-safe.
 */
final class Redaction {
    /** What replaces a secret-named value and each match of a route's own pattern. */
    static final String MARK = "[REDACTED]";

    /** Key names whose values are secrets wherever they appear (lower case, matched as substrings). */
    private static final List<String> SECRET_NAMES = List.of("password", "passwd", "secret", "token", "apikey",
            "api_key", "api-key", "access_key", "accesskey", "private_key", "privatekey", "credential",
            "authorization", "cookie");

    private record Rule(Pattern pattern, String replacement) {}

    private static final List<Rule> RULES = List.of(
            // PEM private keys (a cut-off block too: up to the end of the value).
            new Rule(Pattern.compile("-----BEGIN [A-Z ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----"
                    + "|\\z)"), "[REDACTED:private-key]"),
            // HTTP credentials as they appear in an Authorization value.
            new Rule(Pattern.compile("(?i)\\b(bearer|basic)\\s+[A-Za-z0-9._~+/=-]+"), "$1 [REDACTED:credential]"),
            // toolgate task tokens.
            new Rule(Pattern.compile("tg1\\.[A-Za-z0-9_-]+"), "[REDACTED:task-token]"),
            // JWT-shaped: base64url JSON header ("eyJ" is '{"'), payload, signature.
            new Rule(Pattern.compile("eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*"), "[REDACTED:jwt]"),
            // AWS access key ids.
            new Rule(Pattern.compile("\\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}\\b"),
                    "[REDACTED:aws-key]"),
            // Well-known API key prefixes: GitHub, Slack, Stripe/OpenAI-style sk-/rk-, Google.
            new Rule(Pattern.compile("\\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
                    + "|xox[abprs]-[A-Za-z0-9-]{10,}|(?:sk|rk)[-_][A-Za-z0-9_-]{12,}|AIza[0-9A-Za-z_-]{30,})"),
                    "[REDACTED:api-key]"),
            // key=value and key: value pairs naming a secret, in free text, query strings and JSON.
            new Rule(Pattern.compile("(?i)\\b(password|passwd|pwd|secret|client_secret|token|api[_-]?key"
                    + "|access[_-]?key)(\"?\\s*[=:]\\s*\"?)[^\\s\"&,;]+"), "$1$2[REDACTED]"),
            // E-mail addresses.
            new Rule(Pattern.compile("[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}"),
                    "[REDACTED:email]"));

    /** Runs of token characters long enough to be a key; redacted when their entropy says random. */
    private static final Pattern LONG_RUN = Pattern.compile("[A-Za-z0-9+/_=-]{32,}");
    /** Bits per character from which a long run counts as random (hex, at most 4.0, stays readable). */
    static final double MIN_ENTROPY_BITS = 4.2;

    private Redaction() {}

    /** Whether a key or argument name names a secret (its whole value is redacted). */
    static boolean secretName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (String s : SECRET_NAMES) {
            if (n.contains(s)) {
                return true;
            }
        }
        return false;
    }

    /** {@code text} with every built-in rule applied. */
    static String builtIn(String text) {
        String out = text;
        for (Rule r : RULES) {
            out = r.pattern().matcher(out).replaceAll(r.replacement());
        }
        Matcher m = LONG_RUN.matcher(out);
        StringBuilder sb = null;
        int last = 0;
        while (m.find()) {
            if (entropy(m.group()) >= MIN_ENTROPY_BITS) {
                if (sb == null) {
                    sb = new StringBuilder(out.length());
                }
                sb.append(out, last, m.start()).append("[REDACTED:high-entropy]");
                last = m.end();
            }
        }
        return sb == null ? out : sb.append(out, last, out.length()).toString();
    }

    /** Shannon entropy of the characters of {@code s}, in bits per character. */
    static double entropy(String s) {
        int[] counts = new int[128];
        for (int i = 0; i < s.length(); i++) {
            counts[s.charAt(i) & 0x7f]++;
        }
        double bits = 0;
        for (int c : counts) {
            if (c > 0) {
                double p = (double) c / s.length();
                bits -= p * (Math.log(p) / Math.log(2));
            }
        }
        return bits;
    }
}
