package ai.sisom.jobs;

import ai.sisom.ml.SisomEstimator;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.DOutVariant;
import ai.sisom.scoring.Fusion;


/** Parses the scoring settings of a job configuration into the library's types, with errors naming the key. */
final class PipelineSettings {
    private PipelineSettings() {}

    /** The Spark ML estimator the reference build runs, configured from sisom.* settings. */
    static SisomEstimator estimator(JobConfig cfg) {
        SisomEstimator e = new SisomEstimator().setSteepness(cfg.get("sisom.steepness"))
                .setDOutVariant(DOutVariant.parse(cfg.get("sisom.dOut", "sample")).name().toLowerCase(java.util.Locale.ROOT))
                .setLabelCol(cfg.get("sisom.input.labelColumn", "label"));
        String delta = cfg.get("sisom.subset.delta", null);
        String size = cfg.get("sisom.subset.size", null);
        if (delta != null || size != null) {
            if (delta == null || size == null) {
                throw new IllegalArgumentException("a ProbCover subset needs both sisom.subset.delta and sisom.subset.size");
            }
            double d;
            try {
                d = Double.parseDouble(delta);
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("sisom.subset.delta must be a number, got '" + delta + "'");
            }
            if (!(d > 0)) {
                throw new IllegalArgumentException("sisom.subset.delta must be positive, got " + d);
            }
            int n = cfg.getInt("sisom.subset.size", 0);
            if (n < 1) {
                throw new IllegalArgumentException("sisom.subset.size must be positive, got " + n);
            }
            e.setSubset(d, n);
        }
        return e;
    }

    /** The Spark ML model scoring runs with, from a reference and the sisom.score / sisom.lambda settings. */
    static SisomScoringModel model(JobConfig cfg, SisomReference ref) {
        Fusion f = fusion(cfg);
        SisomScoringModel m = SisomScoringModel.of(ref).setScore(f.score().name().toLowerCase(java.util.Locale.ROOT));
        return f.fixedLambda() != null ? m.setLambda(f.fixedLambda()) : m;
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
