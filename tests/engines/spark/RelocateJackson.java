// Rebuilds the Jackson classes the iceberg-spark-runtime jar of snowpark-connect-deps-iceberg lacks:
// copies the classes of the given Jackson jars into OUT, moved from com.fasterxml.jackson to
// org.apache.iceberg.shaded.com.fasterxml.jackson (where Iceberg's own build shades them), with
// every reference inside them moved the same way - as the Maven shade plugin does, class-name
// strings included. Run in source-file mode with pyspark's xbean-asm9-shaded jar on the class path:
//
//   java -cp xbean-asm9-shaded-4.23.jar RelocateJackson.java OUT.jar jackson-*.jar
import java.io.*;
import java.nio.file.*;
import java.util.jar.*;
import java.util.zip.*;
import org.apache.xbean.asm9.*;
import org.apache.xbean.asm9.commons.*;

public class RelocateJackson {
    static final String FROM = "com/fasterxml/jackson/";
    static final String TO = "org/apache/iceberg/shaded/com/fasterxml/jackson/";

    static String move(String s) {
        if (s.startsWith(FROM)) return TO + s.substring(FROM.length());
        String dots = FROM.replace('/', '.');
        if (s.startsWith(dots)) return TO.replace('/', '.') + s.substring(dots.length());
        return s;
    }

    public static void main(String[] args) throws IOException {
        Remapper remapper = new Remapper() {
            @Override public String map(String name) { return move(name); }
            @Override public Object mapValue(Object value) {
                // class and package names held in strings (Class.forName, service lookups)
                return value instanceof String ? move((String) value) : super.mapValue(value);
            }
        };
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        Path tmp = Paths.get(args[0] + ".tmp");
        int classes = 0;
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(tmp), manifest)) {
            for (int i = 1; i < args.length; i++) {
                try (JarFile jar = new JarFile(args[i])) {
                    for (JarEntry e : java.util.Collections.list(jar.entries())) {
                        // Only the base classes: no manifests, service files or Java 9+ variants.
                        if (e.isDirectory() || !e.getName().endsWith(".class") || !e.getName().startsWith(FROM)) continue;
                        byte[] bytes;
                        try (InputStream in = jar.getInputStream(e)) { bytes = in.readAllBytes(); }
                        ClassReader reader = new ClassReader(bytes);
                        ClassWriter writer = new ClassWriter(0);
                        reader.accept(new ClassRemapper(writer, remapper), 0);
                        out.putNextEntry(new JarEntry(move(e.getName())));
                        out.write(writer.toByteArray());
                        out.closeEntry();
                        classes++;
                    }
                }
            }
        }
        Files.move(tmp, Paths.get(args[0]), StandardCopyOption.REPLACE_EXISTING);
        System.out.println(classes + " classes relocated into " + args[0]);
    }
}
