package dev.toolgate;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rules of the house that a reviewer would otherwise check by hand: no package of proxy-core depends on
 * another that depends back on it; the decision engine and the admission path hold no Netty types (ext_authz,
 * forward-proxy mode and the policy tools reuse them without a network stack); no main class grows past 400
 * lines.
 */
class ArchitectureTest {
    private static final int MAX_LINES = 400;
    private static JavaClasses main;

    @BeforeAll
    static void load() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.toolgate");
    }

    @Test
    void noPackageCycles() {
        slices().matching("dev.toolgate.(*)..").should().beFreeOfCycles().check(main);
    }

    @Test
    void theDecisionPathHasNoNettyTypes() {
        noClasses().that().resideInAnyPackage("dev.toolgate.authz..", "dev.toolgate.admission..",
                        "dev.toolgate.mcp..", "dev.toolgate.call..", "dev.toolgate.grant..", "dev.toolgate.policy..",
                        "dev.toolgate.common..", "dev.toolgate.operation..")
                .should().dependOnClassesThat().resideInAnyPackage("io.netty..", "io.grpc..")
                .check(main);
    }

    /** Every module's main code (proxy-core, proxy-grpc, bench): the tests run in proxy-core, beside the others. */
    @Test
    void theSharedVocabularyIsALeaf() {
        // Protocol and DecisionCode are imported by config, call, policy, authz and admission alike: any import
        // of ours in common would be one cycle away.
        classes().that().resideInAPackage("dev.toolgate.common..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.toolgate.common..", "java..")
                .check(main);
    }

    @Test
    void noMainClassIsOver400Lines() throws IOException {
        List<Path> roots;
        try (Stream<Path> modules = Files.list(Path.of(".."))) {
            roots = modules.map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).toList();
        }
        assertThat(roots).as("module source roots").anyMatch(r -> r.toString().contains("proxy-grpc"));
        Map<Path, Long> tooLong = new java.util.TreeMap<>();
        for (Path src : roots) {
            try (Stream<Path> files = Files.walk(src)) {
                for (Path p : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    long n = lines(p);
                    if (n > MAX_LINES) {
                        tooLong.put(p.normalize(), n);
                    }
                }
            }
        }
        assertThat(tooLong).as("classes over %d lines (split them by responsibility)", MAX_LINES).isEmpty();
    }

    private static long lines(Path p) {
        try (Stream<String> l = Files.lines(p)) {
            return l.count();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
