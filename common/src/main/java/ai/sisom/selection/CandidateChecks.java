package ai.sisom.selection;

import java.util.HashSet;
import java.util.Set;

/** Input checks shared by the pool-wide strategies (CoreSet, BADGE): a clear error naming the offending sample. */
final class CandidateChecks {
    private CandidateChecks() {}

    static void checkQ(int q, int n) {
        if (q < 0 || q > n) {
            throw new IllegalArgumentException("cannot select " + q + " of " + n + " candidates");
        }
    }

    /**
     * Every vector present, non-empty, finite and of one dimension ({@code dim}, or the first one's when -1);
     * returns that dimension.
     */
    static int checkVectors(String[] ids, float[][] v, String what, int dim) {
        for (int i = 0; i < v.length; i++) {
            float[] a = v[i];
            if (a == null || a.length == 0) {
                throw new IllegalArgumentException("sample " + ids[i] + " has no " + what + " values");
            }
            if (dim < 0) {
                dim = a.length;
            } else if (a.length != dim) {
                throw new IllegalArgumentException("sample " + ids[i] + " has " + a.length + " " + what
                        + " values where sample " + ids[0] + " has " + dim);
            }
            checkFinite(a, "sample " + ids[i], what);
        }
        return dim;
    }

    static void checkFinite(float[] a, String who, String what) {
        for (int k = 0; k < a.length; k++) {
            if (!Float.isFinite(a[k])) {
                throw new IllegalArgumentException(who + " has a non-finite " + what + " value (" + a[k]
                        + " at index " + k + ")");
            }
        }
    }

    static void checkUnique(String[] ids) {
        Set<String> seen = new HashSet<>(ids.length * 2);
        for (String id : ids) {
            if (id == null) {
                throw new IllegalArgumentException("a candidate has a null id");
            }
            if (!seen.add(id)) {
                throw new IllegalArgumentException("sample " + id + " is a candidate twice");
            }
        }
    }
}
