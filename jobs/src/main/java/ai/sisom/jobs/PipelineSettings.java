package ai.sisom.jobs;

import ai.sisom.model.ModelMetadata;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.DOutVariant;
import ai.sisom.scoring.Fusion;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Parses the scoring settings of a job configuration into the library's types, with errors naming the key. */
final class PipelineSettings {
    private PipelineSettings() {}

    /**
     * {@code sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50}; a value list {@code 0.1|1|10} makes a grid
     * that the reference build searches (METHOD.md section 7). Every layer of the model must be named.
     */
    static double[][] steepnessGrid(String spec, List<String> layers) {
        Map<String, double[]> byName = new HashMap<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            int colon = p.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("sisom.steepness entries look like layer:value or layer:v1|v2, got '" + p + "'");
            }
            String name = p.substring(0, colon).trim();
            if (!layers.contains(name)) {
                throw new IllegalArgumentException("sisom.steepness names layer '" + name + "', the model's layers are " + layers);
            }
            String[] vals = p.substring(colon + 1).split("\\|");
            double[] v = new double[vals.length];
            for (int i = 0; i < vals.length; i++) {
                try {
                    v[i] = Double.parseDouble(vals[i].trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("sisom.steepness: '" + vals[i] + "' for layer " + name + " is not a number");
                }
                if (!(v[i] > 0) || Double.isInfinite(v[i])) {
                    throw new IllegalArgumentException("sisom.steepness: layer " + name + " needs positive values, got " + v[i]);
                }
            }
            if (byName.put(name, v) != null) {
                throw new IllegalArgumentException("sisom.steepness names layer '" + name + "' twice");
            }
        }
        double[][] grid = new double[layers.size()][];
        for (int j = 0; j < layers.size(); j++) {
            grid[j] = byName.get(layers.get(j));
            if (grid[j] == null) {
                throw new IllegalArgumentException("sisom.steepness has no value for layer '" + layers.get(j)
                        + "' (every layer of the model needs one: " + layers + ")");
            }
        }
        return grid;
    }

    static SisomReference.Settings referenceSettings(JobConfig cfg, ModelMetadata meta) {
        double[][] grid = steepnessGrid(cfg.get("sisom.steepness"), meta.layerNames());
        DOutVariant v = DOutVariant.parse(cfg.get("sisom.dOut", "sample"));
        String delta = cfg.get("sisom.subset.delta", null);
        String size = cfg.get("sisom.subset.size", null);
        Double d = null;
        Integer s = null;
        if (delta != null || size != null) {
            if (delta == null || size == null) {
                throw new IllegalArgumentException("a ProbCover subset needs both sisom.subset.delta and sisom.subset.size");
            }
            try {
                d = Double.parseDouble(delta);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("sisom.subset.delta must be a number, got '" + delta + "'");
            }
            s = cfg.getInt("sisom.subset.size", 0);
        }
        return new SisomReference.Settings(grid, v, d, s);
    }

    static Fusion fusion(JobConfig cfg) {
        String lambda = cfg.get("sisom.lambda", null);
        Double l = null;
        if (lambda != null) {
            try {
                l = Double.parseDouble(lambda);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("sisom.lambda must be a number in [0, 1], got '" + lambda + "'");
            }
        }
        return new Fusion(Fusion.Score.parse(cfg.get("sisom.score", "sisome")), l);
    }
}
