package dev.toolgate.policy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.YamlLines;
import dev.toolgate.mcp.McpHousekeeping;
import dev.toolgate.operation.OperationPattern;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Findings about policy documents that a security team wants before loading them: what the loader refuses (a
 * syntax or compile error, a route or label no route declares), and what loads but is almost certainly a mistake.
 * Every finding is sound: it is reported only when it holds for every call, never as a guess.
 *
 * <ul>
 * <li>{@code compile} (error): the document does not load; the loader's own message.</li>
 * <li>{@code unknown-route} (error): a rule names a route that no route file declares.</li>
 * <li>{@code unknown-label} (error): a flow rule names a label no route has (it could never fire).</li>
 * <li>{@code shadowed-allow} (warning): an allow rule no call can pass, because an unconditional deny rule of an
 *     enforcing document for the same subjects covers every one of its operations on its route.</li>
 * <li>{@code broad-sensitive} (warning): an allow rule with a {@code **} operation on a route labelled with a
 *     sensitive label.</li>
 * <li>{@code constant-condition} (warning): a {@code when} that is the literal {@code true} or {@code false}.</li>
 * <li>{@code never-fires} (warning): a deny rule whose operations are all MCP housekeeping ({@code mcp:ping},
 *     {@code mcp:initialize}, ...), which the authorizer lets through on any live grant of the route before the
 *     policy is asked.</li>
 * </ul>
 *
 * <p>Stateless and thread-safe. Reads the files itself; compiles them with the sidecar's own compiler.
 */
public final class PolicyLint {
    private PolicyLint() {}

    /** How bad a finding is: an error stops the policy from loading; a warning loads but is likely a mistake. */
    public enum Severity {
        ERROR, WARNING;

        /** The lower-case name written in reports. */
        public String json() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * One finding.
     *
     * @param file     the policy file
     * @param line     the line in it (1-based), or 0 when unknown
     * @param rule     the rule it is about ({@code document/rule}), or null for the document as a whole
     * @param check    which check found it ({@code compile}, {@code unknown-route}, ...)
     * @param severity how bad it is
     * @param message  what is wrong, in words
     */
    public record Finding(String file, int line, String rule, String check, Severity severity, String message) {
        public Finding {
            requireNonNull(file, "file");
            requireNonNull(check, "check");
            requireNonNull(severity, "severity");
            requireNonNull(message, "message");
        }
    }

    /**
     * Lints the policy files under {@code sources} against {@code routes}.
     *
     * @param sensitiveLabels the route labels broad operations are flagged on
     * @return the findings, by file and line
     * @throws PolicyException if a source cannot be found or read (nothing to lint)
     */
    public static List<Finding> lint(List<Path> sources, List<RouteConfig> routes, Set<String> sensitiveLabels)
            throws PolicyException {
        requireNonNull(sources, "sources");
        requireNonNull(routes, "routes");
        requireNonNull(sensitiveLabels, "sensitiveLabels");
        Map<String, PolicyCompiler.RouteInfo> info = PolicyLoader.routeInfo(routes);
        Set<String> labels = new TreeSet<>();
        info.values().forEach(r -> labels.addAll(r.labels()));
        List<Finding> out = new ArrayList<>();
        List<Located> docs = new ArrayList<>();
        List<PolicyCompiler.Source> compiled = new ArrayList<>();
        for (Path file : PolicyLoader.files(sources)) {
            PolicyCompiler.Source source = new PolicyCompiler.Source(file.toString(), PolicyLoader.read(file));
            YamlLines lines = YamlLines.index(source.text());
            PolicyFile raw;
            try {
                raw = PolicyYaml.read(source);
            } catch (PolicyException e) {
                out.add(compileError(source.name(), e));
                continue;
            }
            int before = out.size();
            references(source.name(), lines, raw, info, labels, out);
            try {
                Rules.Doc doc = PolicyCompiler.compile(List.of(source), info).docs().get(0);
                docs.add(new Located(doc, lines));
                compiled.add(source);
            } catch (PolicyException e) {
                if (out.size() == before) { // an unknown route or label is already reported, with every other one
                    out.add(compileError(source.name(), e));
                }
            }
        }
        if (docs.size() > 1) {
            try {
                PolicyCompiler.compile(compiled, info); // what only the set as a whole can get wrong: names
            } catch (PolicyException e) {
                out.add(compileError(null, e));
            }
        }
        for (Located d : docs) {
            rules(d, docs, info, sensitiveLabels, out);
        }
        out.sort(Comparator.comparing(Finding::file).thenComparingInt(Finding::line));
        return List.copyOf(out);
    }

    /** A compiled document and the lines of its file. */
    private record Located(Rules.Doc doc, YamlLines lines) {
        int line(String path) {
            return Math.max(0, lines.line(path));
        }
    }

    /**
     * A loader error as a finding: its message reads {@code file:line: path: what} (or {@code file: what}); for
     * the set as a whole ({@code file} null) the file is the one the message names.
     */
    private static Finding compileError(String file, PolicyException e) {
        String msg = e.getMessage();
        Matcher m = (file != null && msg.startsWith(file + ":")
                ? Pattern.compile("(" + Pattern.quote(file) + "):(\\d+): (.*)", Pattern.DOTALL)
                : Pattern.compile("([^:]+?):(\\d+): (.*)", Pattern.DOTALL)).matcher(msg);
        if (m.matches()) {
            return new Finding(m.group(1), Integer.parseInt(m.group(2)), null, "compile", Severity.ERROR, m.group(3));
        }
        String rest = file != null && msg.startsWith(file + ": ") ? msg.substring(file.length() + 2) : msg;
        return new Finding(file == null ? "(policy set)" : file, 0, null, "compile", Severity.ERROR, rest);
    }

    /** Routes and labels a document names that no route declares: every one of them, with its line. */
    private static void references(String file, YamlLines lines, PolicyFile raw,
                                   Map<String, PolicyCompiler.RouteInfo> routes, Set<String> labels,
                                   List<Finding> out) {
        String doc = raw.name() == null ? "?" : raw.name();
        List<PolicyFile.AllowEntry> allow = raw.allow() == null ? List.of() : raw.allow();
        for (int i = 0; i < allow.size(); i++) {
            PolicyFile.AllowEntry a = allow.get(i);
            if (a != null && a.route() != null && !routes.containsKey(a.route())) {
                out.add(unknownRoute(file, lines, "allow[" + i + "]", id(doc, a.name(), "allow[" + i + "]"),
                        a.route(), routes));
            }
        }
        List<PolicyFile.DenyEntry> deny = raw.deny() == null ? List.of() : raw.deny();
        for (int i = 0; i < deny.size(); i++) {
            PolicyFile.DenyEntry d = deny.get(i);
            if (d != null && d.route() != null && !d.route().equals(Rules.ANY_ROUTE)
                    && !routes.containsKey(d.route())) {
                out.add(unknownRoute(file, lines, "deny[" + i + "]", id(doc, d.name(), "deny[" + i + "]"),
                        d.route(), routes));
            }
        }
        List<PolicyFile.FlowEntry> flows = raw.flows() == null ? List.of() : raw.flows();
        for (int i = 0; i < flows.size(); i++) {
            PolicyFile.FlowEntry f = flows.get(i);
            if (f == null) {
                continue;
            }
            for (String side : List.of("after", "deny")) {
                List<String> named = side.equals("after") ? f.after() : f.deny();
                for (int j = 0; named != null && j < named.size(); j++) {
                    String l = named.get(j);
                    if (l != null && !labels.contains(l)) {
                        String path = "flows[" + i + "]." + side + "[" + j + "]";
                        out.add(new Finding(file, Math.max(0, lines.line(path)), id(doc, f.name(), "flows[" + i + "]"),
                                "unknown-label", Severity.ERROR, "label \"" + l + "\" is on no route, so this flow"
                                + " rule can never fire (labels: " + (labels.isEmpty() ? "none declared"
                                : String.join(", ", labels)) + ")"));
                    }
                }
            }
        }
    }

    private static Finding unknownRoute(String file, YamlLines lines, String path, String rule, String route,
                                        Map<String, PolicyCompiler.RouteInfo> routes) {
        return new Finding(file, Math.max(0, lines.line(path + ".route")), rule, "unknown-route", Severity.ERROR,
                "route \"" + route + "\" is not a configured route (routes: "
                        + String.join(", ", new TreeSet<>(routes.keySet())) + ")");
    }

    private static String id(String doc, String name, String path) {
        return doc + "/" + (name == null ? path : name);
    }

    /** The checks of a compiled document's rules. */
    private static void rules(Located d, List<Located> all, Map<String, PolicyCompiler.RouteInfo> routes,
                              Set<String> sensitive, List<Finding> out) {
        String file = d.doc().source();
        List<Rules.Allow> allow = d.doc().allow();
        for (int i = 0; i < allow.size(); i++) {
            Rules.Allow a = allow.get(i);
            String path = "allow[" + i + "]";
            Rules.Deny shadow = shadowing(d.doc(), a, all);
            if (shadow != null) {
                out.add(new Finding(file, d.line(path), a.id(), "shadowed-allow", Severity.WARNING, "no call can"
                        + " pass this rule: deny rule " + shadow.id() + " (no condition) covers every operation of"
                        + " it on route " + a.route()));
            }
            Set<String> hot = new TreeSet<>(routes.get(a.route()).labels());
            hot.retainAll(sensitive);
            if (!hot.isEmpty()) {
                for (int j = 0; j < a.operations().size(); j++) {
                    String op = a.operations().get(j).toString();
                    if (op.contains("**")) {
                        out.add(new Finding(file, d.line(path + ".operations[" + j + "]"), a.id(), "broad-sensitive",
                                Severity.WARNING, "\"" + op + "\" allows any path on route " + a.route()
                                + ", which is labelled " + String.join(", ", hot) + " (name the operations needed)"));
                    }
                }
            }
            constant(file, d.line(path + ".when"), a.id(), a.when(), out);
        }
        List<Rules.Deny> deny = d.doc().deny();
        for (int i = 0; i < deny.size(); i++) {
            Rules.Deny r = deny.get(i);
            if (r.operations().stream().allMatch(op -> McpHousekeeping.covers(op.protocol(), op.toString()))) {
                out.add(new Finding(file, d.line("deny[" + i + "]"), r.id(), "never-fires", Severity.WARNING,
                        "MCP housekeeping (" + String.join(", ", r.operations().stream().map(Object::toString)
                        .toList()) + ") passes on any live grant of the route before the policy is asked, so this"
                        + " deny rule never fires"));
            }
            constant(file, d.line("deny[" + i + "].when"), r.id(), r.when(), out);
        }
    }

    private static void constant(String file, int line, String rule, Condition when, List<Finding> out) {
        if (when != null && (when.expression().strip().equals("true") || when.expression().strip().equals("false"))) {
            out.add(new Finding(file, line, rule, "constant-condition", Severity.WARNING, "the condition is always "
                    + when.expression().strip() + (when.expression().strip().equals("true")
                    ? " (leave out when:)" : " (the rule never applies)")));
        }
    }

    /**
     * An unconditional deny rule that takes every call of {@code a} away: of an enforcing document (or of the same
     * document), whose subjects include every subject pattern of {@code a}'s document as written, on {@code a}'s
     * route or every route, covering each of {@code a}'s operations whole. Null when there is none.
     */
    private static Rules.Deny shadowing(Rules.Doc owner, Rules.Allow a, List<Located> all) {
        List<String> subjects = owner.subjects().stream().map(Object::toString).toList();
        for (Located l : all) {
            Rules.Doc other = l.doc();
            if (other != owner && (other.shadow() && !owner.shadow()
                    || !other.subjects().stream().map(Object::toString).toList().containsAll(subjects))) {
                continue;
            }
            for (Rules.Deny d : other.deny()) {
                if (d.when() == null && d.appliesTo(a.route()) && coversAll(d.operations(), a.operations())) {
                    return d;
                }
            }
        }
        return null;
    }

    private static boolean coversAll(List<OperationPattern> wider, List<OperationPattern> ops) {
        for (OperationPattern op : ops) {
            if (!Rules.anyContains(wider, op)) {
                return false;
            }
        }
        return true;
    }
}
