/**
 * The sidecar's shared vocabulary: the {@link dev.toolgate.common.Protocol} a route speaks and the
 * {@link dev.toolgate.common.DecisionCode}s of DESIGN.md with their protocol-native answers. A leaf package (it
 * imports nothing of ours), so configuration, calls, operation patterns, policy, the authorizer, admission and the
 * front ends all name protocols and codes with the same types instead of comparing strings.
 */
package dev.toolgate.common;
