package ai.sisom.selection;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A class-balanced queue: quotas per pseudo-class, equal or proportional to a prior, each filled by score (JODA's
 * class balancing, METHOD.md 10). Quotas are water-filled: q is split by weight (largest remainders, ties to the lower
 * class index), a class that has fewer eligible samples than its share gets all of them, and what it leaves goes to the
 * others by weight again. A class of weight 0 gets nothing, so a prior naming few classes can leave the queue short.
 *
 * @param mode    none, equal or prior
 * @param weights per class index (for prior; equal: all 1), null for none
 */
public record ClassBalance(Mode mode, double[] weights) implements Serializable {
    public enum Mode {
        NONE, EQUAL, PRIOR;

        public static Mode parse(String s) {
            for (Mode m : values()) {
                if (m.name().equalsIgnoreCase(s.trim())) {
                    return m;
                }
            }
            throw new IllegalArgumentException("class balance must be none, equal or prior, got '" + s + "'");
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final ClassBalance NONE = new ClassBalance(Mode.NONE, null);

    public ClassBalance {
        if (mode != Mode.NONE) {
            if (weights == null || weights.length == 0) {
                throw new IllegalArgumentException("a class-balanced queue needs a weight per class");
            }
            double sum = 0;
            for (double w : weights) {
                if (!(w >= 0) || Double.isInfinite(w)) {
                    throw new IllegalArgumentException("class weights must be finite and >= 0, got " + Arrays.toString(weights));
                }
                sum += w;
            }
            if (!(sum > 0)) {
                throw new IllegalArgumentException("the class prior gives every class weight 0: the queue would be empty");
            }
        }
    }

    public static ClassBalance equal(int classes) {
        double[] w = new double[classes];
        Arrays.fill(w, 1);
        return new ClassBalance(Mode.EQUAL, w);
    }

    /**
     * A prior by class name, {@code shirt:0.3,coat:0.2,...}: every name must be one of the model's classes, given once;
     * classes not named get weight 0. The weights need not sum to 1 (they are proportions).
     */
    public static ClassBalance prior(String spec, List<String> classNames) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("class balance 'prior' needs the prior (sisom.queue.classPrior / "
                    + "classPrior): class:weight,... over the model's classes " + classNames);
        }
        double[] w = new double[classNames.size()];
        Map<String, Double> seen = new LinkedHashMap<>();
        List<String> unknown = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            int colon = p.lastIndexOf(':');
            if (colon <= 0 || colon == p.length() - 1) {
                throw new IllegalArgumentException("class prior entry '" + p + "' is not class:weight "
                        + "(sisom.queue.classPrior / classPrior)");
            }
            String name = p.substring(0, colon).trim();
            double v;
            try {
                v = Double.parseDouble(p.substring(colon + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("class prior weight of '" + name + "' is not a number: '"
                        + p.substring(colon + 1).trim() + "'");
            }
            if (!(v >= 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("class prior weight of '" + name + "' must be finite and >= 0, got " + v);
            }
            if (seen.put(name, v) != null) {
                throw new IllegalArgumentException("class prior names '" + name + "' twice");
            }
            int c = classNames.indexOf(name);
            if (c < 0) {
                unknown.add(name);
            } else {
                w[c] = v;
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("class prior (sisom.queue.classPrior / classPrior) names " + unknown
                    + ", which are not among the model's classes " + classNames);
        }
        return new ClassBalance(Mode.PRIOR, w);
    }

    public boolean balanced() {
        return mode != Mode.NONE;
    }

    /**
     * Per class, how many of the q queue places it gets, given how many eligible samples each class has. The quotas
     * sum to min(q, eligible samples of classes with weight > 0).
     */
    public int[] quotas(int q, long[] available) {
        if (!balanced()) {
            throw new IllegalStateException("no quotas without class balance");
        }
        int k = weights.length;
        if (available.length != k) {
            throw new IllegalArgumentException("available counts for " + available.length + " classes, weights for " + k);
        }
        int[] quota = new int[k];
        boolean[] open = new boolean[k];
        for (int c = 0; c < k; c++) {
            open[c] = weights[c] > 0 && available[c] > 0;
        }
        // water-filling: a class whose share of what is left reaches its eligible count gets all of them, and the
        // rest is shared again, until every open class's share fits
        long budget = q;
        boolean capped = true;
        while (capped) {
            capped = false;
            double sum = 0;
            for (int c = 0; c < k; c++) {
                sum += open[c] ? weights[c] : 0;
            }
            if (sum == 0) {
                break;
            }
            boolean[] cap = new boolean[k];
            for (int c = 0; c < k; c++) {
                cap[c] = open[c] && budget * weights[c] / sum >= available[c];
            }
            for (int c = 0; c < k; c++) {
                if (cap[c]) {
                    quota[c] = (int) available[c];
                    budget -= available[c];
                    open[c] = false;
                    capped = true;
                }
            }
        }
        // the open classes share the budget by weight: floors, then the largest remainders (ties: lower index)
        double sum = 0;
        for (int c = 0; c < k; c++) {
            sum += open[c] ? weights[c] : 0;
        }
        if (sum > 0 && budget > 0) {
            double[] rem = new double[k];
            long given = 0;
            for (int c = 0; c < k; c++) {
                if (open[c]) {
                    double exact = budget * weights[c] / sum;
                    quota[c] = (int) Math.floor(exact);
                    rem[c] = exact - quota[c];
                    given += quota[c];
                }
            }
            Integer[] order = new Integer[k];
            Arrays.setAll(order, c -> c);
            Arrays.sort(order, (a, b) -> Double.compare(rem[b], rem[a]));   // stable: ties to the lower index
            for (int i = 0; i < k && given < budget; i++) {
                if (open[order[i]] && quota[order[i]] < available[order[i]]) {
                    quota[order[i]]++;
                    given++;
                }
            }
        }
        return quota;
    }
}
