package ai.sisom.image;

import ai.djl.modality.cv.util.NDImageUtils;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.sisom.model.ModelMetadata;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Turns stored image bytes (PNG, JPEG, BMP, GIF: whatever javax.imageio reads) into the normalised CHW float
 * tensor a model expects, the way torchvision's {@code ToTensor} + {@code Normalize} do on a PIL image.
 *
 * <p>Pixel values are read from the raster, not through {@code getRGB}, because Java's colour management would
 * otherwise alter grayscale values (linear-gray to sRGB). Colour to grayscale uses ITU-R 601-2 luma with PIL's
 * fixed-point rounding ({@code L = R*0.299 + G*0.587 + B*0.114}), so that {@code Image.convert("L")} is matched exactly;
 * grayscale to RGB repeats the channel. Alpha is ignored.
 */
public final class ImagePreprocessor implements Serializable {
    private static final long serialVersionUID = 1L;

    /** What to do when an image's size differs from the model's input size. */
    public enum Resize {
        /** Reject the image, naming it (the default: nothing is silently distorted). */
        NONE,
        /** Bilinear interpolation through libtorch (align_corners=false, as torchvision's tensor Resize). */
        BILINEAR
    }

    private final int channels;
    private final int height;
    private final int width;
    private final float[] mean;
    private final float[] std;
    private final Resize resize;

    public ImagePreprocessor(int channels, int height, int width, float[] mean, float[] std, Resize resize) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("height and width must be positive");
        }
        if (mean.length != channels || std.length != channels) {
            throw new IllegalArgumentException("mean and std need " + channels + " values");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("std values must be positive");
            }
        }
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.mean = mean.clone();
        this.std = std.clone();
        this.resize = resize;
    }

    /** The preprocessing recorded in the model's metadata, with the given resize policy. */
    public static ImagePreprocessor forModel(ModelMetadata meta, Resize resize) {
        return new ImagePreprocessor(meta.channels(), meta.height(), meta.width(), meta.mean(), meta.std(), resize);
    }

    public int channels() { return channels; }

    public int height() { return height; }

    public int width() { return width; }

    /** Number of floats per image: C * H * W. */
    public int size() { return channels * height * width; }

    /**
     * Decodes and normalises one image into {@code out[offset .. offset + size())} in CHW order.
     *
     * @param manager used only when resizing (libtorch interpolation); may be null when resize is NONE
     */
    public void decodeInto(String id, byte[] bytes, float[] out, int offset, NDManager manager)
            throws InvalidImageException {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidImageException(id, "no image bytes");
        }
        BufferedImage img = read(id, bytes);
        int h = img.getHeight();
        int w = img.getWidth();
        float[] hwc = pixels(id, img);
        if (h != height || w != width) {
            if (resize == Resize.NONE) {
                throw new InvalidImageException(id, "size " + w + "x" + h + " differs from the model input " + width
                        + "x" + height + " (set resize=bilinear to resize)");
            }
            hwc = resizeBilinear(hwc, h, w, manager);
        }
        int plane = height * width;
        for (int c = 0; c < channels; c++) {
            float m = mean[c];
            float s = std[c];
            for (int p = 0; p < plane; p++) {
                // same float32 operation order as torchvision: (x / 255 - mean) / std
                float v = hwc[p * channels + c] / 255f;
                out[offset + c * plane + p] = (v - m) / s;
            }
        }
    }

    /**
     * Decodes the bytes with the first javax.imageio reader that takes them. The JPEG reader decodes a truncated
     * file with a warning and fills the missing part with gray, where PIL refuses it: a warning about missing data
     * is therefore a rejection, not a partly made-up image.
     */
    private static BufferedImage read(String id, byte[] bytes) throws InvalidImageException {
        // an in-memory stream: ImageIO.read(InputStream) caches through a temporary file by default, which took
        // about twice the decode CPU on the bundled PNGs (bench/decode.sh)
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new InvalidImageException(id, "not a readable image (" + bytes.length
                        + " bytes; PNG, JPEG, BMP or GIF expected)");
            }
            ImageReader reader = readers.next();
            List<String> truncated = new ArrayList<>();
            try {
                reader.setInput(in, true, true);
                reader.addIIOReadWarningListener((source, warning) -> {
                    String w = warning.toLowerCase(Locale.ROOT);
                    if (w.contains("truncated") || w.contains("premature end")) {
                        truncated.add(warning);
                    }
                });
                BufferedImage img = reader.read(0);
                if (!truncated.isEmpty()) {
                    throw new InvalidImageException(id, "truncated image (" + String.join("; ", truncated) + ")");
                }
                return img;
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new InvalidImageException(id, "corrupt image (" + e.getMessage() + ")");
        }
    }

    /** Decodes one image into a fresh array (tests and single-image use). */
    public float[] decode(String id, byte[] bytes, NDManager manager) throws InvalidImageException {
        float[] out = new float[size()];
        decodeInto(id, bytes, out, 0, manager);
        return out;
    }

    /** Pixel values 0..255 in HWC order with this preprocessor's channel count. */
    private float[] pixels(String id, BufferedImage img) throws InvalidImageException {
        int h = img.getHeight();
        int w = img.getWidth();
        Raster raster = img.getRaster();
        int bands = raster.getNumBands();
        boolean indexed = img.getColorModel() instanceof IndexColorModel;
        int bits = img.getColorModel().getComponentSize(0);
        float scale = bits > 8 ? 255f / ((1 << bits) - 1) : 1f;
        float[] out = new float[h * w * channels];
        if (bands > 4) {
            throw new InvalidImageException(id, "unsupported image with " + bands + " bands");
        }
        // one bulk read of the raster (per-pixel getPixel calls dominate decoding time otherwise)
        int[] samples = indexed ? null : raster.getPixels(0, 0, w, h, (int[]) null);
        int[] argb = indexed ? img.getRGB(0, 0, w, h, null, 0, w) : null; // palette entries are sRGB already
        boolean gray = !indexed && bands <= 2;
        for (int p = 0; p < h * w; p++) {
            int r;
            int g;
            int b;
            if (indexed) {
                r = (argb[p] >> 16) & 0xff;
                g = (argb[p] >> 8) & 0xff;
                b = argb[p] & 0xff;
            } else if (gray) { // gray, gray+alpha
                r = g = b = scale == 1f ? samples[p * bands] : Math.round(samples[p * bands] * scale);
            } else { // RGB, RGBA
                int o = p * bands;
                r = scale == 1f ? samples[o] : Math.round(samples[o] * scale);
                g = scale == 1f ? samples[o + 1] : Math.round(samples[o + 1] * scale);
                b = scale == 1f ? samples[o + 2] : Math.round(samples[o + 2] * scale);
            }
            int o = p * channels;
            if (channels == 1) {
                out[o] = gray ? r : luma(r, g, b);
            } else {
                out[o] = r;
                out[o + 1] = g;
                out[o + 2] = b;
            }
        }
        return out;
    }

    /** PIL's rgb2l: ITU-R 601-2 luma in 16-bit fixed point with rounding. */
    static int luma(int r, int g, int b) {
        return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }

    private float[] resizeBilinear(float[] hwc, int h, int w, NDManager manager) {
        if (manager == null) {
            throw new IllegalStateException("resizing needs an NDManager");
        }
        try (NDManager sub = manager.newSubManager()) {
            NDArray src = sub.create(hwc, new Shape(h, w, channels)).toType(DataType.FLOAT32, false);
            NDArray dst = NDImageUtils.resize(src, width, height, ai.djl.modality.cv.Image.Interpolation.BILINEAR);
            return dst.toFloatArray();
        }
    }
}
