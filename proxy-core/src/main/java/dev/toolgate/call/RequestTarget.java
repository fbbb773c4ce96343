package dev.toolgate.call;

import static java.util.Objects.requireNonNull;

/**
 * A normalized origin-form request target: what grants are matched against and, byte for byte,
 * what is forwarded upstream.
 *
 * <p>Only {@link PathNormalizer#normalize(String)} guarantees that {@code path} is normalized;
 * this constructor checks only that it is present and absolute. Immutable and thread-safe.
 *
 * @param path the normalized path; always starts with {@code '/'}
 * @param query the raw query without the leading {@code '?'}, or {@code null} when the target
 *     had none ({@code ""} when it had a bare {@code '?'})
 * @throws NullPointerException if {@code path} is null
 * @throws IllegalArgumentException if {@code path} does not start with {@code '/'}
 */
public record RequestTarget(String path, String query) {

    public RequestTarget {
        requireNonNull(path, "path");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("path: " + path + " (expected: starts with '/')");
        }
    }

    /** Returns the target to forward: the path, then {@code '?'} and the query if there is one. */
    public String toUri() {
        return query == null ? path : path + '?' + query;
    }
}
