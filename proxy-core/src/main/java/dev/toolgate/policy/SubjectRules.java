package dev.toolgate.policy;

import dev.toolgate.identity.SpiffeId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rules of a {@link PolicySet} that apply to one subject, indexed by route: what {@link PolicySet#evaluate}
 * reads on every call, worked out once per subject (and kept by the set) instead of asking every document whether
 * it covers the agent and scanning every rule on every call.
 *
 * <p>Two views: the enforcing documents alone, and the enforcing and shadow documents together (for what shadow
 * documents would decide). Within a view the rules keep the set's order (documents in load order, rules in
 * document order), so the first matching rule is the one a scan of all documents would find: a deny rule with
 * route {@code *} is listed under every route at its place in that order.
 *
 * <p>Immutable and thread-safe.
 */
final class SubjectRules {
    static final int ENFORCED = 1;
    static final int SHADOWED = 2;

    private final int modes;
    private final View enforced;
    private final View all;

    private SubjectRules(int modes, View enforced, View all) {
        this.modes = modes;
        this.enforced = enforced;
        this.all = all;
    }

    /** The rules of the documents of {@code docs} that cover {@code subject}. */
    static SubjectRules of(Rules.Doc[] docs, SpiffeId subject) {
        List<Rules.Doc> covering = new ArrayList<>();
        List<Rules.Doc> enforcing = new ArrayList<>();
        int modes = 0;
        for (Rules.Doc d : docs) {
            if (d.covers(subject)) {
                covering.add(d);
                if (d.shadow()) {
                    modes |= SHADOWED;
                } else {
                    modes |= ENFORCED;
                    enforcing.add(d);
                }
            }
        }
        View enforcedView = View.of(enforcing);
        return new SubjectRules(modes, enforcedView,
                covering.size() == enforcing.size() ? enforcedView : View.of(covering));
    }

    /** Which kinds of documents cover the subject: {@link #ENFORCED}, {@link #SHADOWED}, both or none (0). */
    int modes() {
        return modes;
    }

    /** The enforcing documents' rules, or with {@code withShadow} the enforcing and shadow documents' rules. */
    View view(boolean withShadow) {
        return withShadow ? all : enforced;
    }

    /** The rules of some documents, by route. */
    static final class View {
        private static final Rules.Allow[] NO_ALLOW = new Rules.Allow[0];

        private final Map<String, Rules.Deny[]> denyByRoute;
        private final Rules.Deny[] denyAnyRoute;
        private final Rules.Flow[] flows;
        private final Map<String, Rules.Allow[]> allowByRoute;

        private View(Map<String, Rules.Deny[]> denyByRoute, Rules.Deny[] denyAnyRoute, Rules.Flow[] flows,
                     Map<String, Rules.Allow[]> allowByRoute) {
            this.denyByRoute = denyByRoute;
            this.denyAnyRoute = denyAnyRoute;
            this.flows = flows;
            this.allowByRoute = allowByRoute;
        }

        static View of(List<Rules.Doc> docs) {
            List<Rules.Deny> denies = new ArrayList<>();
            List<Rules.Flow> flows = new ArrayList<>();
            Map<String, List<Rules.Allow>> allows = new LinkedHashMap<>();
            for (Rules.Doc d : docs) {
                denies.addAll(d.deny());
                flows.addAll(d.flows());
                for (Rules.Allow a : d.allow()) {
                    allows.computeIfAbsent(a.route(), r -> new ArrayList<>()).add(a);
                }
            }
            // Each route's deny rules: its own and those for every route, in the order of the documents.
            Map<String, Rules.Deny[]> denyByRoute = new HashMap<>();
            List<Rules.Deny> anyRoute = new ArrayList<>();
            for (Rules.Deny d : denies) {
                if (d.route().equals(Rules.ANY_ROUTE)) {
                    anyRoute.add(d);
                } else {
                    denyByRoute.putIfAbsent(d.route(), null);
                }
            }
            for (String route : List.copyOf(denyByRoute.keySet())) {
                List<Rules.Deny> forRoute = new ArrayList<>();
                for (Rules.Deny d : denies) {
                    if (d.appliesTo(route)) {
                        forRoute.add(d);
                    }
                }
                denyByRoute.put(route, forRoute.toArray(new Rules.Deny[0]));
            }
            Map<String, Rules.Allow[]> allowByRoute = new HashMap<>();
            allows.forEach((route, list) -> allowByRoute.put(route, list.toArray(NO_ALLOW)));
            return new View(denyByRoute, anyRoute.toArray(new Rules.Deny[0]),
                    flows.toArray(new Rules.Flow[0]), allowByRoute);
        }

        /** The deny rules that apply to {@code route}, in order. */
        Rules.Deny[] denies(String route) {
            Rules.Deny[] d = denyByRoute.get(route);
            return d != null ? d : denyAnyRoute;
        }

        Rules.Flow[] flows() {
            return flows;
        }

        /** The allow rules for {@code route}, in order. */
        Rules.Allow[] allows(String route) {
            Rules.Allow[] a = allowByRoute.get(route);
            return a != null ? a : NO_ALLOW;
        }
    }
}
