package dev.toolgate.policy;

import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import dev.toolgate.operation.OperationPattern;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** The compiled rules of a policy set: validated, patterns parsed, conditions compiled. Immutable. */
final class Rules {
    /** Deny rules with this route apply to every route. */
    static final String ANY_ROUTE = "*";

    private Rules() {}

    record Doc(String name, String source, boolean shadow, List<SpiffeIdPattern> subjects, List<Allow> allow,
               List<Deny> deny, List<Flow> flows) {
        Doc {
            subjects = List.copyOf(subjects);
            allow = List.copyOf(allow);
            deny = List.copyOf(deny);
            flows = List.copyOf(flows);
        }

        boolean covers(SpiffeId id) {
            for (SpiffeIdPattern p : subjects) {
                if (p.matches(id)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** {@code id} is {@code document/rule name}, or {@code document/allow[i]} for an unnamed rule. */
    record Allow(String id, String route, List<OperationPattern> operations, Duration maxTtl, Condition when,
                 boolean approval, Long budget, RateSpec rate) {
        Allow {
            operations = List.copyOf(operations);
        }

        boolean matches(String operation) {
            return anyMatches(operations, operation);
        }

        /** Whether each of {@code ops} lies within one of this rule's operations. */
        boolean covers(List<OperationPattern> ops) {
            for (OperationPattern op : ops) {
                if (!anyContains(operations, op)) {
                    return false;
                }
            }
            return true;
        }
    }

    record Deny(String id, String route, List<OperationPattern> operations, Condition when, String reason) {
        Deny {
            operations = List.copyOf(operations);
        }

        boolean appliesTo(String callRoute) {
            return route.equals(ANY_ROUTE) || route.equals(callRoute);
        }

        boolean matches(String operation) {
            return anyMatches(operations, operation);
        }
    }

    record Flow(String id, Set<String> after, Set<String> deny, String reason) {
        Flow {
            after = Set.copyOf(after);
            deny = Set.copyOf(deny);
        }
    }

    /** Every rule's id: documents in order, each one's allow, deny and flow rules as written. */
    static List<String> ids(Doc[] docs) {
        List<String> ids = new java.util.ArrayList<>();
        for (Doc d : docs) {
            d.allow().forEach(r -> ids.add(r.id()));
            d.deny().forEach(r -> ids.add(r.id()));
            d.flows().forEach(r -> ids.add(r.id()));
        }
        return List.copyOf(ids);
    }

    static boolean anyMatches(List<OperationPattern> patterns, String operation) {
        for (OperationPattern p : patterns) {
            if (p.matches(operation)) {
                return true;
            }
        }
        return false;
    }

    static boolean anyContains(List<OperationPattern> patterns, OperationPattern op) {
        for (OperationPattern p : patterns) {
            if (op.within(p)) {
                return true;
            }
        }
        return false;
    }
}
