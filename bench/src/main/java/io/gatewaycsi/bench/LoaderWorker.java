package io.gatewaycsi.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * One data-loader worker process of {@link DataLoaderBench}, as a PyTorch DataLoader worker reads samples:
 * open a random file of the tree, read it whole, close it, again. {@code LoaderWorker <root> <dirs>
 * <filesPerDir> <seed>}: prints {@code ready}, waits for a line {@code go <seconds>} on stdin, reads for that
 * long, prints {@code done <files> <bytes>} and waits for the next {@code go} (or end of input).
 */
public final class LoaderWorker {

    private LoaderWorker() {
    }

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args[0]);
        int dirs = Integer.parseInt(args[1]);
        int filesPerDir = Integer.parseInt(args[2]);
        SplittableRandom random = new SplittableRandom(Long.parseLong(args[3]));
        ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        System.out.println("ready");
        System.out.flush();
        String line;
        while ((line = in.readLine()) != null && line.startsWith("go ")) {
            long until = System.nanoTime() + (long) (Double.parseDouble(line.substring(3)) * 1e9);
            long files = 0;
            long bytes = 0;
            while (System.nanoTime() < until) {
                Path file = root.resolve(DataLoaderBench.fileName(random.nextInt(dirs), random.nextInt(filesPerDir)));
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                    int n;
                    buffer.clear();
                    while ((n = channel.read(buffer)) > 0) {
                        bytes += n;
                        buffer.clear();
                    }
                }
                files++;
            }
            System.out.println("done " + files + " " + bytes);
            System.out.flush();
        }
    }
}
