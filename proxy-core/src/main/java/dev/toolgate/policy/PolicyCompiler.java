package dev.toolgate.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.YamlLines;
import dev.toolgate.identity.SpiffeIdPattern;
import dev.toolgate.operation.OperationPattern;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads, validates and compiles policy documents into a {@link PolicySet}. All or nothing: the first error refuses
 * the whole set. Stateless and thread-safe.
 */
final class PolicyCompiler {
    private static final int MAX_REASON = 512;
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    /** One document's text and the name errors use for it (its path). */
    record Source(String name, String text) {}

    /** What policy needs to know of a route. */
    record RouteInfo(String name, Protocol protocol, String grpcService, Set<String> labels) {
        RouteInfo {
            labels = Set.copyOf(labels);
        }
    }

    private PolicyCompiler() {}

    static PolicySet compile(List<Source> sources, Map<String, RouteInfo> routes) throws PolicyException {
        Set<String> labels = new TreeSet<>();
        routes.values().forEach(r -> labels.addAll(r.labels()));
        List<Rules.Doc> docs = new ArrayList<>();
        Map<String, String> canonical = new HashMap<>();
        Map<String, String> seen = new HashMap<>();
        for (Source s : sources) {
            PolicyFile raw = PolicyYaml.read(s);
            Ctx ctx = new Ctx(s.name(), YamlLines.index(s.text()), routes, labels);
            Rules.Doc doc = ctx.document(raw);
            String other = seen.putIfAbsent(doc.name(), s.name());
            if (other != null) {
                throw ctx.fail("name", "\"" + doc.name() + "\" is also the name of the document in " + other
                        + " (expected: unique)");
            }
            docs.add(doc);
            try {
                canonical.put(doc.name(), PolicyYaml.canonical(raw));
            } catch (JsonProcessingException e) {
                throw new PolicyException(s.name() + ": cannot be put in canonical form: " + e.getOriginalMessage(), e);
            }
        }
        docs.sort(Comparator.comparing(Rules.Doc::name));
        return PolicySet.of(docs, PolicyYaml.version(docs.stream().map(d -> canonical.get(d.name())).toList()));
    }

    /** Validation of one document, with its name and line index for errors. */
    private static final class Ctx {
        private final String source;
        private final YamlLines lines;
        private final Map<String, RouteInfo> routes;
        private final Set<String> labels;

        Ctx(String source, YamlLines lines, Map<String, RouteInfo> routes, Set<String> labels) {
            this.source = source;
            this.lines = lines;
            this.routes = routes;
            this.labels = labels;
        }

        PolicyException fail(String path, String message) {
            int line = lines.line(path);
            return new PolicyException(source + (line > 0 ? ":" + line : "") + ": " + path + ": " + message);
        }

        Rules.Doc document(PolicyFile f) throws PolicyException {
            if (!"Policy".equals(f.kind())) {
                throw fail("kind", quote(f.kind()) + " (expected: Policy)");
            }
            String name = name(f.name(), "name", true);
            String mode = f.mode() == null ? "enforce" : f.mode();
            if (!mode.equals("enforce") && !mode.equals("shadow")) {
                throw fail("mode", quote(mode) + " (expected: enforce or shadow)");
            }
            if (f.subjects() == null || f.subjects().isEmpty()) {
                throw fail("subjects", "missing (expected: a list of SPIFFE ID patterns such as"
                        + " spiffe://example.org/agents/*)");
            }
            List<SpiffeIdPattern> subjects = new ArrayList<>();
            for (int i = 0; i < f.subjects().size(); i++) {
                String p = f.subjects().get(i);
                try {
                    subjects.add(SpiffeIdPattern.parse(nonNull(p, "subjects[" + i + "]")));
                } catch (IllegalArgumentException e) {
                    throw fail("subjects[" + i + "]", e.getMessage()
                            + " (* is one whole segment, a final ** one or more)");
                }
            }
            Set<String> ruleNames = new HashSet<>();
            List<Rules.Allow> allow = new ArrayList<>();
            List<PolicyFile.AllowEntry> allowIn = orEmpty(f.allow());
            for (int i = 0; i < allowIn.size(); i++) {
                allow.add(allow(name, allowIn.get(i), "allow[" + i + "]", ruleNames));
            }
            List<Rules.Deny> deny = new ArrayList<>();
            List<PolicyFile.DenyEntry> denyIn = orEmpty(f.deny());
            for (int i = 0; i < denyIn.size(); i++) {
                deny.add(deny(name, denyIn.get(i), "deny[" + i + "]", ruleNames));
            }
            List<Rules.Flow> flows = new ArrayList<>();
            List<PolicyFile.FlowEntry> flowsIn = orEmpty(f.flows());
            for (int i = 0; i < flowsIn.size(); i++) {
                flows.add(flow(name, flowsIn.get(i), "flows[" + i + "]", ruleNames));
            }
            return new Rules.Doc(name, source, mode.equals("shadow"), subjects, allow, deny, flows);
        }

        private Rules.Allow allow(String doc, PolicyFile.AllowEntry e, String path, Set<String> ruleNames)
                throws PolicyException {
            if (e == null) {
                throw fail(path, "empty (expected: a rule with route and operations)");
            }
            String id = ruleId(doc, e.name(), path, ruleNames);
            RouteInfo route = route(e.route(), path + ".route", false);
            List<OperationPattern> ops = operations(e.operations(), path, route);
            if (e.maxTtl() != null && (e.maxTtl().isZero() || e.maxTtl().isNegative())) {
                throw fail(path + ".maxTtl", e.maxTtl() + " (expected: > 0)");
            }
            Condition when = condition(e.when(), path + ".when");
            String approval = e.approval() == null ? "none" : e.approval();
            if (!approval.equals("required") && !approval.equals("none")) {
                throw fail(path + ".approval", quote(approval) + " (expected: required or none)");
            }
            if (e.budget() != null && e.budget() < 1) {
                throw fail(path + ".budget", e.budget() + " (expected: > 0)");
            }
            RateSpec rate = null;
            if (e.rate() != null) {
                if (e.rate().perSecond() == null) {
                    throw fail(path + ".rate.perSecond", "missing (expected: calls per second, e.g. 5)");
                }
                double perSecond = e.rate().perSecond();
                long burst = e.rate().burst() != null ? e.rate().burst() : Math.max(1, (long) Math.ceil(perSecond));
                try {
                    rate = new RateSpec(perSecond, burst);
                } catch (IllegalArgumentException ex) {
                    throw fail(path + ".rate", ex.getMessage());
                }
            }
            return new Rules.Allow(id, route.name(), ops, e.maxTtl(), when, approval.equals("required"), e.budget(),
                    rate);
        }

        private Rules.Deny deny(String doc, PolicyFile.DenyEntry e, String path, Set<String> ruleNames)
                throws PolicyException {
            if (e == null) {
                throw fail(path, "empty (expected: a rule with route and operations)");
            }
            String id = ruleId(doc, e.name(), path, ruleNames);
            RouteInfo route = route(e.route(), path + ".route", true);
            List<OperationPattern> ops = operations(e.operations(), path, route);
            Condition when = condition(e.when(), path + ".when");
            String reason = reason(e.reason(), path + ".reason", "denied by policy rule " + id);
            return new Rules.Deny(id, route == null ? Rules.ANY_ROUTE : route.name(), ops, when, reason);
        }

        private Rules.Flow flow(String doc, PolicyFile.FlowEntry e, String path, Set<String> ruleNames)
                throws PolicyException {
            if (e == null) {
                throw fail(path, "empty (expected: a rule with after and deny)");
            }
            String id = ruleId(doc, e.name(), path, ruleNames);
            Set<String> after = labels(e.after(), path + ".after");
            Set<String> deny = labels(e.deny(), path + ".deny");
            String reason = reason(e.reason(), path + ".reason", "the task touched a route labelled "
                    + String.join(" or ", after) + "; routes labelled " + String.join(" or ", deny)
                    + " are denied after that (flow rule " + id + ")");
            return new Rules.Flow(id, after, deny, reason);
        }

        private String ruleId(String doc, String ruleName, String path, Set<String> names) throws PolicyException {
            String n = ruleName == null ? path : name(ruleName, path + ".name", false);
            if (!names.add(n)) {
                throw fail(path + ".name", quote(n) + " is used by another rule of this document (expected: unique)");
            }
            return doc + "/" + n;
        }

        /** The route named, or null for {@code *} where allowed. */
        private RouteInfo route(String name, String path, boolean anyAllowed) throws PolicyException {
            if (name == null) {
                throw fail(path, "missing (expected: a route name" + (anyAllowed ? " or *" : "") + ")");
            }
            if (anyAllowed && name.equals(Rules.ANY_ROUTE)) {
                return null;
            }
            RouteInfo r = routes.get(name);
            if (r == null) {
                throw fail(path, quote(name) + " is not a configured route (expected: one of "
                        + String.join(", ", new TreeSet<>(routes.keySet())) + (anyAllowed ? ", or *" : "") + ")");
            }
            return r;
        }

        private List<OperationPattern> operations(List<String> texts, String rulePath, RouteInfo route)
                throws PolicyException {
            String path = rulePath + ".operations";
            if (texts == null || texts.isEmpty()) {
                throw fail(path, "missing (expected: a list of operations such as \"GET /repos/**\","
                        + " \"mcp:tools/call:search_issues\", \"grpc:demo.Tools/Search\")");
            }
            List<OperationPattern> ops = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                String at = path + "[" + i + "]";
                OperationPattern op;
                try {
                    op = OperationPattern.parse(nonNull(texts.get(i), at));
                } catch (IllegalArgumentException e) {
                    throw fail(at, e.getMessage());
                }
                if (route != null) {
                    checkProtocol(op, route, at);
                }
                ops.add(op);
            }
            return ops;
        }

        /** An operation that can never match a call on the route is a mistake worth refusing. */
        private void checkProtocol(OperationPattern op, RouteInfo route, String path) throws PolicyException {
            Protocol p = op.protocol();
            if (p == Protocol.MCP && route.protocol() != Protocol.MCP) {
                throw fail(path, quote(op.toString()) + " is an MCP operation but route " + route.name() + " is "
                        + route.protocol() + " (expected: an MCP route)");
            }
            if (p == Protocol.GRPC) {
                if (route.protocol() != Protocol.GRPC) {
                    throw fail(path, quote(op.toString()) + " is a gRPC operation but route " + route.name()
                            + " is " + route.protocol() + " (expected: a gRPC route)");
                }
                if (route.grpcService() != null && !route.grpcService().equals(op.grpcService())) {
                    throw fail(path, quote(op.toString()) + " names service " + op.grpcService()
                            + " (expected: " + route.grpcService() + ", the service of route " + route.name() + ")");
                }
            }
        }

        private Condition condition(String expression, String path) throws PolicyException {
            if (expression == null) {
                return null;
            }
            try {
                return Condition.compile(expression);
            } catch (IllegalArgumentException e) {
                throw fail(path, "CEL: " + e.getMessage());
            }
        }

        private Set<String> labels(List<String> names, String path) throws PolicyException {
            if (names == null || names.isEmpty()) {
                throw fail(path, "missing (expected: a list of route labels)");
            }
            Set<String> out = new LinkedHashSet<>();
            for (int i = 0; i < names.size(); i++) {
                String l = nonNull(names.get(i), path + "[" + i + "]");
                if (!labels.contains(l)) {
                    throw fail(path + "[" + i + "]", quote(l) + " is not a label of any route (expected: one of "
                            + (labels.isEmpty() ? "none declared" : String.join(", ", labels)) + ")");
                }
                out.add(l);
            }
            return out;
        }

        private String reason(String reason, String path, String otherwise) throws PolicyException {
            if (reason == null) {
                return otherwise;
            }
            if (reason.isBlank() || reason.length() > MAX_REASON || reason.chars().anyMatch(c -> c < 0x20)) {
                throw fail(path, "expected: one line of 1 to " + MAX_REASON + " characters");
            }
            return reason;
        }

        private String name(String n, String path, boolean required) throws PolicyException {
            if (n == null && required) {
                throw fail(path, "missing (expected: [a-z0-9][a-z0-9._-]*, <= 63 chars)");
            }
            if (n == null || !NAME.matcher(n).matches()) {
                throw fail(path, quote(n) + " (expected: [a-z0-9][a-z0-9._-]*, <= 63 chars)");
            }
            return n;
        }

        private String nonNull(String s, String path) throws PolicyException {
            if (s == null) {
                throw fail(path, "null (expected: a string)");
            }
            return s;
        }
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    private static String quote(String s) {
        return s == null ? "null" : '"' + s + '"';
    }
}
