/**
 * The security team's policy-as-code: policy documents ({@code kind: Policy} YAML: subjects, allow rules with
 * operations, {@code maxTtl}, CEL {@code when} conditions, approval, budget and rate; deny rules; flow rules over a
 * task's history; enforce or shadow mode), compiled whole into an immutable {@link dev.toolgate.policy.PolicySet}
 * by {@link dev.toolgate.policy.PolicyLoader} and followed on disk by {@link dev.toolgate.policy.PolicyWatcher}.
 *
 * <p>Two checkpoints ask the set: {@link dev.toolgate.policy.PolicySet#checkGrant} when a task starts (may this
 * grant be given) and {@link dev.toolgate.policy.PolicySet#evaluate} on every call (does policy still allow it),
 * the call described by a {@link dev.toolgate.policy.CallFacts} the caller implements. Operations of every
 * protocol are written as {@link dev.toolgate.operation.OperationPattern}s (package {@code dev.toolgate.operation}); conditions are CEL
 * ({@link dev.toolgate.policy.Condition}), compiled and type-checked once at load, and fail closed
 * ({@link dev.toolgate.policy.ConditionException}). {@link dev.toolgate.policy.TokenBucket} is the lock-free rate
 * limiter for the rules' {@link dev.toolgate.policy.RateSpec}.
 *
 * <p>Pure: no Netty types, no I/O outside the loader and watcher, time injected.
 */
package dev.toolgate.policy;
