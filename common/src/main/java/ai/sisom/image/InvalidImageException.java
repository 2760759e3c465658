package ai.sisom.image;

/** An input image that cannot be used: corrupt bytes, unsupported format, or a shape the model cannot take. */
public class InvalidImageException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String itemId;

    public InvalidImageException(String itemId, String reason) {
        super("image '" + itemId + "': " + reason);
        this.itemId = itemId;
    }

    public String itemId() { return itemId; }

    /** The reason without the item prefix, for rejection tables. */
    public String reason() {
        String m = getMessage();
        return m.substring(m.indexOf("': ") + 3);
    }
}
