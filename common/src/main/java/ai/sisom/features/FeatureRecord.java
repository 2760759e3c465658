package ai.sisom.features;

import java.io.Serializable;

/**
 * The SISOM feature record of one sample (METHOD.md section 1), with the raw, steepness-free products
 * {@code u = a * g} concatenated over the chosen layers so that any steepness can be applied later without
 * another network pass.
 *
 * @param id          the sample's id
 * @param logits      classifier output, length K
 * @param pseudoClass argmax of the logits (the first maximum on ties, as torch.argmax)
 * @param energy      -logsumexp(logits); larger means more unusual
 * @param penultimate the plain input of the classifier head
 * @param u           concat over layers j of a_j * g_j, length D
 */
public record FeatureRecord(String id, float[] logits, int pseudoClass, double energy, float[] penultimate, float[] u)
        implements Serializable {

    /** argmax, first maximum on ties. A NaN logit is reported by the caller before this is reached. */
    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Energy E = -logsumexp(l), in double precision with the usual max shift. */
    public static double energy(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return -(max + Math.log(sum));
    }
}
