package ai.sisom.selection;

import ai.djl.util.JsonUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;

/**
 * The picks of the benchmark's reference implementations (bench/python/al_strategies.py) on small fixed inputs,
 * made by {@code /usr/bin/python3 bench/python/make_al_golden.py} (common/src/test/resources/al-strategies-golden.json).
 */
final class AlGolden {
    private AlGolden() {}

    static JsonObject load() {
        try (Reader r = new InputStreamReader(AlGolden.class.getResourceAsStream("/al-strategies-golden.json"),
                StandardCharsets.UTF_8)) {
            return JsonUtils.GSON.fromJson(r, JsonObject.class);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A matrix of float32-representable values (written by the script as float64). */
    static float[][] floats(JsonObject c, String key) {
        JsonArray rows = c.getAsJsonArray(key);
        float[][] m = new float[rows.size()][];
        for (int i = 0; i < m.length; i++) {
            JsonArray row = rows.get(i).getAsJsonArray();
            m[i] = new float[row.size()];
            for (int k = 0; k < m[i].length; k++) {
                double v = row.get(k).getAsDouble();
                m[i][k] = (float) v;
                if (m[i][k] != v) {
                    throw new IllegalStateException(key + " value " + v + " is not a float32");
                }
            }
        }
        return m;
    }

    static double[] doubles(JsonArray a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsDouble();
        }
        return v;
    }

    static int[] ints(JsonArray a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsInt();
        }
        return v;
    }
}
