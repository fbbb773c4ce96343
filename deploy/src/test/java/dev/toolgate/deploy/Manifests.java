package dev.toolgate.deploy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Kubernetes objects parsed from YAML into fabric8's model classes, strictly: a field the model does not know (a
 * typo such as {@code readinesProbe}, or a field at the wrong level) lands in a model object's
 * {@code additionalProperties} and fails the parse, as {@code kubectl apply --validate=strict} would.
 */
final class Manifests {
    private static final ObjectMapper YAML = new YAMLMapper(new YAMLFactory())
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final Map<String, Class<? extends HasMetadata>> TYPED = Map.of(
            "apps/v1/Deployment", Deployment.class,
            "v1/ConfigMap", ConfigMap.class,
            "v1/Secret", Secret.class,
            "v1/ServiceAccount", ServiceAccount.class,
            "v1/Namespace", Namespace.class,
            "networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class);

    private final List<HasMetadata> objects;

    private Manifests(List<HasMetadata> objects) {
        this.objects = List.copyOf(objects);
    }

    /** Parses every YAML document of {@code text} (empty documents are skipped), named {@code source} in errors. */
    static Manifests parse(String source, String text) {
        List<HasMetadata> out = new ArrayList<>();
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(text)) {
            int index = 0;
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                index++;
                if (doc == null || doc.isNull() || doc.isEmpty()) {
                    continue;
                }
                String where = source + " document " + index;
                String apiVersion = doc.path("apiVersion").asText("");
                String kind = doc.path("kind").asText("");
                if (apiVersion.isEmpty() || kind.isEmpty() || doc.path("metadata").path("name").asText("").isEmpty()) {
                    throw new AssertionError(where + ": not a Kubernetes object (expected: apiVersion, kind, metadata.name)");
                }
                Class<? extends HasMetadata> type = TYPED.get(apiVersion + "/" + kind);
                HasMetadata object = type == null
                        ? YAML.treeToValue(doc, GenericKubernetesResource.class)
                        : YAML.treeToValue(doc, type);
                if (type != null) {
                    List<String> unknown = new ArrayList<>();
                    unknownFields(object, kind, unknown);
                    if (!unknown.isEmpty()) {
                        throw new AssertionError(where + " (" + kind + " " + object.getMetadata().getName()
                                + "): fields unknown to Kubernetes " + apiVersion + ": " + unknown);
                    }
                }
                out.add(object);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": not valid YAML: " + e.getMessage(), e);
        }
        return new Manifests(out);
    }

    List<HasMetadata> all() {
        return objects;
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends HasMetadata> T only(Class<T> type) {
        List<T> found = all(type);
        if (found.size() != 1) {
            throw new AssertionError("expected exactly one " + type.getSimpleName() + ", found " + found.size());
        }
        return found.get(0);
    }

    <T extends HasMetadata> T named(Class<T> type, String name) {
        return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " named " + name + " among "
                        + all(type).stream().map(o -> o.getMetadata().getName()).toList()));
    }

    List<GenericKubernetesResource> custom(String apiVersion, String kind) {
        return all(GenericKubernetesResource.class).stream()
                .filter(r -> apiVersion.equals(r.getApiVersion()) && kind.equals(r.getKind())).toList();
    }

    /** Collects the paths of fields the model kept as additionalProperties (it did not know them). */
    private static void unknownFields(Object node, String path, List<String> out) {
        if (node == null) {
            return;
        }
        if (node instanceof Collection<?> c) {
            int i = 0;
            for (Object o : c) {
                unknownFields(o, path + "[" + i++ + "]", out);
            }
            return;
        }
        if (node instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                unknownFields(e.getValue(), path + "." + e.getKey(), out);
            }
            return;
        }
        if (!node.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method m : node.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !m.getName().startsWith("get")
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(node);
            } catch (ReflectiveOperationException e) {
                continue;
            }
            if (m.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    extra.keySet().forEach(k -> out.add(path + "." + k));
                }
                continue;
            }
            String field = Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4);
            unknownFields(value, path + "." + field, out);
        }
    }
}
