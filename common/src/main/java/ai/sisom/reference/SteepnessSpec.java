package ai.sisom.reference;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A per-layer steepness specification as users write it, {@code layer1:0.05,layer2:1|10,...}: one value per layer
 * (fixed) or several separated by {@code |} (a grid the reference build searches, METHOD.md 7). Parsing checks the
 * syntax and the values; {@link #grid} checks the layer names against a model.
 */
public final class SteepnessSpec {
    private final Map<String, double[]> byLayer;

    private SteepnessSpec(Map<String, double[]> byLayer) {
        this.byLayer = byLayer;
    }

    public static SteepnessSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("the steepness is empty; write layer:value per layer, e.g. "
                    + "layer1:0.05,layer2:1,layer3:10,avgpool:50");
        }
        Map<String, double[]> byName = new LinkedHashMap<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            int colon = p.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("steepness entries look like layer:value or layer:v1|v2, got '" + p + "'");
            }
            String name = p.substring(0, colon).trim();
            String[] vals = p.substring(colon + 1).split("\\|");
            double[] v = new double[vals.length];
            for (int i = 0; i < vals.length; i++) {
                try {
                    v[i] = Double.parseDouble(vals[i].trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("steepness: '" + vals[i] + "' for layer " + name + " is not a number");
                }
                if (!(v[i] > 0) || Double.isInfinite(v[i])) {
                    throw new IllegalArgumentException("steepness: layer " + name + " needs positive values, got " + v[i]);
                }
            }
            if (byName.put(name, v) != null) {
                throw new IllegalArgumentException("steepness names layer '" + name + "' twice");
            }
        }
        return new SteepnessSpec(byName);
    }

    /** The layers named, in the order written. */
    public List<String> layers() {
        return List.copyOf(byLayer.keySet());
    }

    public Map<String, double[]> values() {
        return Collections.unmodifiableMap(byLayer);
    }

    /** One candidate list per layer, in the model's order; every model layer named, no other. */
    public double[][] grid(List<String> modelLayers) {
        for (String name : byLayer.keySet()) {
            if (!modelLayers.contains(name)) {
                throw new IllegalArgumentException("steepness names layer '" + name + "', the model's layers are "
                        + modelLayers);
            }
        }
        double[][] grid = new double[modelLayers.size()][];
        for (int j = 0; j < modelLayers.size(); j++) {
            double[] v = byLayer.get(modelLayers.get(j));
            if (v == null) {
                throw new IllegalArgumentException("steepness has no value for layer '" + modelLayers.get(j)
                        + "' (every layer of the model needs one: " + modelLayers + ")");
            }
            grid[j] = v.clone();
        }
        return grid;
    }
}
