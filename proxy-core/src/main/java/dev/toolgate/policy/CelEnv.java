package dev.toolgate.policy;

import com.google.common.collect.ImmutableCollection;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSet;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.navigation.CelNavigableAst;
import dev.cel.common.navigation.CelNavigableExpr;
import dev.cel.common.types.CelType;
import dev.cel.common.types.CelTypeProvider;
import dev.cel.common.types.ListType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.common.types.StructType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.validator.CelValidator;
import dev.cel.validator.CelValidatorFactory;
import dev.cel.validator.validators.AstDepthLimitValidator;
import dev.cel.validator.validators.RegexLiteralValidator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The one CEL environment of policy conditions: the variables of {@link CallFacts} with their fields declared
 * (a misspelt field such as {@code request.pth} is refused when the policy loads), the standard functions and
 * macros, and the limits. {@code Cel} and its programs are immutable and thread-safe, so one environment serves
 * every condition.
 */
final class CelEnv {
    /** Longest condition, in characters. */
    static final int MAX_LENGTH = 4096;
    /** Parser recursion (nesting of parentheses, calls, selections). */
    static final int MAX_PARSE_DEPTH = 32;
    /** Depth of the checked expression tree. */
    static final int MAX_AST_DEPTH = 32;
    /** Nodes of the parsed expression. */
    static final int MAX_NODES = 1000;
    /** Comprehensions ({@code all}, {@code exists}, {@code map}, {@code filter}) inside one another. */
    static final int MAX_COMPREHENSION_NESTING = 2;
    /** Iterations of all comprehensions of one evaluation together. */
    static final int MAX_ITERATIONS = 1000;
    /** Size of a compiled regular expression ({@code matches}); RE2 semantics, so linear time. */
    static final int MAX_REGEX_PROGRAM = 1000;

    static final CelOptions OPTIONS = CelOptions.current()
            .maxExpressionCodePointSize(MAX_LENGTH)
            .maxParseRecursionDepth(MAX_PARSE_DEPTH)
            .maxParseExpressionNodeCount(MAX_NODES)
            .comprehensionMaxIterations(MAX_ITERATIONS)
            .maxRegexProgramSize(MAX_REGEX_PROGRAM)
            // JSON numbers arrive as int or double: 3 == 3.0 and 2 < 2.5 should hold as a reader expects.
            .enableHeterogeneousNumericComparisons(true)
            .build();

    private static final CelType STRING = SimpleType.STRING;
    static final StructType REQUEST = struct("toolgate.Request", Map.of(
            "method", STRING, "path", STRING, "host", STRING, "headers", MapType.create(STRING, STRING)));
    static final StructType MCP = struct("toolgate.Mcp", Map.of(
            "method", STRING, "tool", STRING, "uri", STRING, "arguments", SimpleType.DYN));
    static final StructType GRPC = struct("toolgate.Grpc", Map.of("service", STRING, "method", STRING));
    static final StructType TASK = struct("toolgate.Task", Map.of(
            "id", STRING, "purpose", STRING, "labels", ListType.create(STRING), "calls", SimpleType.INT));
    static final StructType AGENT = struct("toolgate.Agent", Map.of(
            "id", STRING, "trust_domain", STRING, "path", STRING, "proof", STRING));

    private static final Cel CEL = CelFactory.standardCelBuilder()
            .setOptions(OPTIONS)
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .setTypeProvider(new Types(REQUEST, MCP, GRPC, TASK, AGENT))
            .addVar("request", REQUEST)
            .addVar("mcp", MCP)
            .addVar("grpc", GRPC)
            .addVar("task", TASK)
            .addVar("agent", AGENT)
            .addVar("now", SimpleType.TIMESTAMP)
            .setResultType(SimpleType.BOOL)
            .build();

    private static final CelValidator VALIDATOR = CelValidatorFactory.standardCelValidatorBuilder(CEL)
            .addAstValidators(AstDepthLimitValidator.newInstance(MAX_AST_DEPTH), RegexLiteralValidator.INSTANCE)
            .build();

    private CelEnv() {}

    /**
     * Parses, type-checks (the result must be a bool) and validates against the limits.
     *
     * @throws IllegalArgumentException with CEL's message (position and caret) when the expression is refused
     */
    static CelRuntime.Program compile(String expression) {
        if (expression.length() > MAX_LENGTH) {
            throw new IllegalArgumentException(expression.length() + " characters (expected: <= " + MAX_LENGTH + ")");
        }
        if (expression.isBlank()) {
            throw new IllegalArgumentException("empty (expected: a CEL expression such as"
                    + " mcp.arguments.repo.startsWith(\"acme/\"))");
        }
        try {
            CelValidationResult compiled = CEL.compile(expression);
            if (compiled.hasError()) {
                throw new IllegalArgumentException(compiled.getErrorString());
            }
            CelAbstractSyntaxTree ast = compiled.getAst();
            CelValidationResult validated = VALIDATOR.validate(ast);
            if (validated.hasError()) {
                throw new IllegalArgumentException(validated.getErrorString());
            }
            int nesting = comprehensionNesting(ast);
            if (nesting > MAX_COMPREHENSION_NESTING) {
                throw new IllegalArgumentException("comprehensions (all, exists, exists_one, map, filter) nested "
                        + nesting + " deep (expected: <= " + MAX_COMPREHENSION_NESTING + ")");
            }
            return CEL.createProgram(ast);
        } catch (CelValidationException | CelEvaluationException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private static int comprehensionNesting(CelAbstractSyntaxTree ast) {
        return CelNavigableAst.fromAst(ast).getRoot().allNodes()
                .filter(n -> n.getKind() == CelExpr.ExprKind.Kind.COMPREHENSION)
                .mapToInt(CelEnv::comprehensionDepth)
                .max().orElse(0);
    }

    private static int comprehensionDepth(CelNavigableExpr node) {
        int depth = 0;
        for (Optional<CelNavigableExpr> n = Optional.of(node); n.isPresent(); n = n.get().parent()) {
            if (n.get().getKind() == CelExpr.ExprKind.Kind.COMPREHENSION) {
                depth++;
            }
        }
        return depth;
    }

    private static StructType struct(String name, Map<String, CelType> fields) {
        Map<String, CelType> ordered = new LinkedHashMap<>(fields);
        return StructType.create(name, ImmutableSet.copyOf(ordered.keySet()),
                field -> Optional.ofNullable(ordered.get(field)));
    }

    /** Makes the variable types known to the checker; at run time the variables are plain maps. */
    private static final class Types implements CelTypeProvider {
        private final ImmutableList<CelType> types;

        Types(CelType... types) {
            this.types = ImmutableList.copyOf(types);
        }

        @Override
        public ImmutableCollection<CelType> types() {
            return types;
        }

        @Override
        public Optional<CelType> findType(String typeName) {
            for (CelType t : types) {
                if (t.name().equals(typeName)) {
                    return Optional.of(t);
                }
            }
            return Optional.empty();
        }
    }
}
