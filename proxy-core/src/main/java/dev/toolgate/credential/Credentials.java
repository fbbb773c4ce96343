package dev.toolgate.credential;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.CredentialConfig;
import dev.toolgate.config.RouteConfig;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The credentials the sidecar injects toward upstreams, per route: the one way into this package.
 *
 * <p>Built once per route table: static secrets are read at {@link #create} and again by {@link #withRoutes} when
 * the routes are reloaded (a missing or unusable secret fails the load, never a call); task JWTs are minted on demand, cached per task and route, and refused for a task once
 * {@link #taskEnded} was called for it. The data plane drops the agent's own copies of {@link #headerNames} and
 * then calls {@link #apply} just before forwarding; a {@link CredentialException} means the call is denied.
 *
 * <p>Thread-safe; {@link #apply} on a cached JWT or a static secret neither blocks nor signs.
 */
public final class Credentials {
    private final Map<String, Injector> injectors;
    private final Map<String, Set<String>> headerNames;
    private final TaskJwts jwts;

    private Credentials(Map<String, Injector> injectors, Map<String, Set<String>> headerNames, TaskJwts jwts) {
        this.injectors = injectors;
        this.headerNames = headerNames;
        this.jwts = jwts;
    }

    /**
     * Builds the injectors of every route that has a credential, reading static secrets now.
     *
     * @param routes the routes of the route table (all of them: a call on a route not listed here is refused)
     * @param keys   signs task JWTs
     * @param clock  the time JWTs are issued and cached by
     * @throws IllegalArgumentException naming the route if a secret is missing, empty or not printable ASCII on
     *                                  one line, or if a route name appears twice
     */
    public static Credentials create(List<RouteConfig> routes, SigningKeys keys, Clock clock) {
        return create(routes, keys, clock, System::getenv);
    }

    /** As {@link #create(List, SigningKeys, Clock)}, with {@code env} looking up environment variables (tests). */
    static Credentials create(List<RouteConfig> routes, SigningKeys keys, Clock clock, Function<String, String> env) {
        requireNonNull(routes, "routes");
        requireNonNull(keys, "keys");
        requireNonNull(clock, "clock");
        requireNonNull(env, "env");
        return build(routes, new TaskJwts(new JwtMinter(keys), clock), env);
    }

    /**
     * The credentials of a reloaded route set: static secrets read again now, task JWTs signed with the same keys
     * and from the same cache, so a task that ended stays refused and a JWT minted for a route whose audience is
     * unchanged is reused. This instance stays valid for the calls that started with it.
     *
     * @throws IllegalArgumentException as {@link #create(List, SigningKeys, Clock)}
     */
    public Credentials withRoutes(List<RouteConfig> routes) {
        return withRoutes(routes, System::getenv);
    }

    /** As {@link #withRoutes(List)}, with {@code env} looking up environment variables (tests). */
    Credentials withRoutes(List<RouteConfig> routes, Function<String, String> env) {
        return build(requireNonNull(routes, "routes"), jwts, requireNonNull(env, "env"));
    }

    private static Credentials build(List<RouteConfig> routes, TaskJwts jwts, Function<String, String> env) {
        Map<String, Injector> injectors = new HashMap<>();
        Map<String, Set<String>> headerNames = new HashMap<>();
        for (RouteConfig route : routes) {
            requireNonNull(route, "routes[i]");
            if (headerNames.containsKey(route.name())) {
                throw new IllegalArgumentException("route name " + route.name() + " is used twice (expected: unique)");
            }
            CredentialConfig c = route.credential();
            if (c == null) {
                headerNames.put(route.name(), Set.of());
                continue;
            }
            Injector injector = switch (c.type()) {
                case CredentialConfig.STATIC -> new Injector.Static(c.header(),
                        (c.prefix() == null ? "" : c.prefix()) + StaticSecrets.read(route.name(), c, env));
                case CredentialConfig.TASK_JWT -> new Injector.TaskJwt(route.name(), c.header(), c.audience(),
                        c.ttl(), jwts);
                default -> throw new IllegalArgumentException(
                        "route " + route.name() + ": credential.type: " + c.type() + " (expected: static or task-jwt)");
            };
            injectors.put(route.name(), injector);
            headerNames.put(route.name(), Set.of(injector.header()));
        }
        return new Credentials(Map.copyOf(injectors), Map.copyOf(headerNames), jwts);
    }

    /**
     * Sets {@code route}'s credential header through {@code setHeader}; call it after the agent's headers were
     * copied, so it replaces whatever the agent sent under that name. Does nothing for a route without a credential.
     *
     * @throws CredentialException if the route is not one this was built with, or no credential can be produced
     *                             (the task ended or expired, signing or the cache failed); the call must then be
     *                             denied
     */
    public void apply(String route, TaskClaims task, BiConsumer<CharSequence, CharSequence> setHeader)
            throws CredentialException {
        requireNonNull(route, "route");
        requireNonNull(task, "task");
        requireNonNull(setHeader, "setHeader");
        Injector injector = injectors.get(route);
        if (injector == null) {
            if (!headerNames.containsKey(route)) {
                throw new CredentialException("route " + route + ": not in the credential table (expected: a known route)");
            }
            return;
        }
        String value;
        try {
            value = injector.value(task);
        } catch (RuntimeException e) {
            // A cache or signing library failure must deny the call like any other missing credential.
            throw new CredentialException("route " + route + ": credential failed: " + e.getClass().getSimpleName(), e);
        }
        setHeader.accept(injector.header(), value);
    }

    /** Lower-case names of the headers {@code route}'s credential sets; empty if it has none (or is unknown). */
    public Set<String> headerNames(String route) {
        requireNonNull(route, "route");
        return headerNames.getOrDefault(route, Set.of());
    }

    /**
     * The task ended or was revoked: drops every JWT cached for it, and no JWT is minted for it again (ended tasks
     * are remembered at least until their expiry when a JWT was minted for them, else for 24 hours; at most
     * 100,000 are kept). Returns once the cache no longer holds them.
     */
    public void taskEnded(String taskId) {
        requireNonNull(taskId, "taskId");
        jwts.taskEnded(taskId);
    }
}
