package dev.toolgate.policy;

import java.time.Duration;
import java.util.List;

/**
 * A policy document as written (YAML), before validation; {@link PolicyCompiler} turns it into {@link Rules}.
 * Unknown keys are refused by the reader. Also the canonical form the set's version is hashed from.
 */
record PolicyFile(String kind, String name, String mode, List<String> subjects, List<AllowEntry> allow,
                  List<DenyEntry> deny, List<FlowEntry> flows) {

    record AllowEntry(String name, String route, List<String> operations, Duration maxTtl, String when,
                      String approval, Long budget, RateEntry rate) {}

    record DenyEntry(String name, String route, List<String> operations, String when, String reason) {}

    record FlowEntry(String name, List<String> after, List<String> deny, String reason) {}

    record RateEntry(Double perSecond, Long burst) {}
}
