package ai.sisom.ml;

import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Param validators written in Java. Spark's {@code ParamValidators} cover ranges and sets; these cover the rest
 * (names, specs that parse) and, where a value can be wrong in more than one way, say why in the exception.
 * Serializable because params travel with the stage.
 */
final class Checks {
    private Checks() {}

    /** A validator as Spark's params take it. */
    abstract static class Check<T> extends AbstractFunction1<T, Object> implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** Valid when {@code ok} holds (Spark's exception names the param and the value). */
    static <T> Check<T> when(SerializablePredicate<T> ok) {
        return new Check<>() {
            @Override
            public Object apply(T v) {
                return v != null && ok.test(v);
            }
        };
    }

    /** Valid when {@code why} returns null; otherwise an IllegalArgumentException naming the param and the reason. */
    static <T> Check<T> because(String param, SerializableFunction<T, String> why) {
        return new Check<>() {
            @Override
            public Object apply(T v) {
                String reason = v == null ? "no value" : why.apply(v);
                if (reason != null) {
                    throw new IllegalArgumentException("parameter " + param + " given invalid value '" + v + "': "
                            + reason);
                }
                return true;
            }
        };
    }

    /** A column name: not blank. */
    static Check<String> columnName() {
        return when(s -> !s.isBlank());
    }

    /** A fixed threshold: a finite value, or NaN for none. */
    static Check<Object> finiteOrNaN() {
        return when(v -> !Double.isInfinite((Double) v));
    }

    /** A fixed fusion weight: in [0, 1], or -1 for r_avg. */
    static Check<Object> lambda() {
        return when(v -> (Double) v == -1.0 || (Double) v >= 0 && (Double) v <= 1);
    }

    interface SerializablePredicate<T> extends Predicate<T>, Serializable {}

    interface SerializableFunction<T, R> extends Function<T, R>, Serializable {}
}
