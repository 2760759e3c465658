package ai.sisom.bench;

import ai.djl.pytorch.jni.JniUtils;
import ai.sisom.model.SisomModel;

import java.nio.file.Paths;

/**
 * Our side of bench/extract-profile.sh: libtorch's own profiler over the model forward (with its in-script gradients)
 * as the executors run it, after a warm-up, written as a Chrome trace for the script to summarise per operator.
 * Arguments: model, trace file, batch, threads, forwards.
 */
public final class ExtractionProfile {
    private ExtractionProfile() {}

    public static void main(String[] args) throws Exception {
        int batch = Integer.parseInt(args[2]);
        int threads = Integer.parseInt(args[3]);
        int forwards = Integer.parseInt(args[4]);
        try (SisomModel m = SisomModel.load(Paths.get(args[0]))) {
            JniUtils.setNumThreads(threads);
            var meta = m.metadata();
            float[] x = new float[batch * meta.channels() * meta.height() * meta.width()];
            java.util.Random rnd = new java.util.Random(1);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            for (int w = 0; w < 30; w++) {
                m.forward(x, batch);
            }
            JniUtils.startProfile(false, false, false);
            for (int i = 0; i < forwards; i++) {
                m.forward(x, batch);
            }
            JniUtils.stopProfile(args[1]);
        }
    }
}
