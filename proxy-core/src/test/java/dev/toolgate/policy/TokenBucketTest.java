package dev.toolgate.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void admitsTheBurstThenRefillsAtTheRate() {
        AtomicLong clock = new AtomicLong(-5 * SECOND); // any start, negative included
        TokenBucket b = new TokenBucket(5, 10, clock::get);
        for (int i = 0; i < 10; i++) {
            assertThat(b.tryAcquire()).as("call %d of the burst", i).isTrue();
        }
        assertThat(b.tryAcquire()).isFalse();
        assertThat(b.tryAcquireOrDelay()).isEqualTo(SECOND / 5);
        clock.addAndGet(SECOND / 5 - 1);
        assertThat(b.tryAcquire()).isFalse();
        clock.addAndGet(1);
        assertThat(b.tryAcquire()).isTrue();
        assertThat(b.tryAcquire()).isFalse();
        // A long idle time refills to the burst, never beyond.
        clock.addAndGet(3600 * SECOND);
        int admitted = 0;
        while (b.tryAcquire()) {
            admitted++;
        }
        assertThat(admitted).isEqualTo(10);
    }

    @Test
    void aClockNearOverflowStillWorks() {
        AtomicLong clock = new AtomicLong(Long.MAX_VALUE - SECOND / 10);
        TokenBucket b = new TokenBucket(10, 1, clock::get);
        assertThat(b.tryAcquire()).isTrue();
        assertThat(b.tryAcquire()).isFalse();
        clock.addAndGet(SECOND / 10); // wraps
        assertThat(b.tryAcquire()).isTrue();
    }

    @Test
    void concurrentCallersNeverGetMoreThanTheBucketHolds() throws Exception {
        AtomicLong clock = new AtomicLong();
        TokenBucket b = new TokenBucket(1, 1000, clock::get);
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    go.await();
                    int n = 0;
                    for (int i = 0; i < 20_000; i++) {
                        if (b.tryAcquire()) {
                            n++;
                        }
                    }
                    return n;
                }));
            }
            go.countDown();
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(60, TimeUnit.SECONDS);
            }
            assertThat(total).isEqualTo(1000);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void concurrentCallersWithAMovingClockStayWithinBurstPlusRate() throws Exception {
        AtomicLong clock = new AtomicLong();
        TokenBucket b = new TokenBucket(1000, 50, clock::get);
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    go.await();
                    int n = 0;
                    for (int i = 0; i < 20_000; i++) {
                        if (i % 100 == 0) {
                            clock.addAndGet(SECOND / 10_000); // the callers move time themselves: 0.08 s in all
                        }
                        if (b.tryAcquire()) {
                            n++;
                        }
                    }
                    return n;
                }));
            }
            go.countDown();
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(60, TimeUnit.SECONDS);
            }
            long elapsedMillis = clock.get() / 1_000_000;
            assertThat(elapsedMillis).isEqualTo(80);
            // 50 at once plus 1000/s over the time that passed, and no fewer than the burst.
            assertThat(total).isBetween(50, 50 + (int) elapsedMillis);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertThatThrownBy(() -> new TokenBucket(0, 1, System::nanoTime)).hasMessageContaining("perSecond");
        assertThatThrownBy(() -> new TokenBucket(Double.NaN, 1, System::nanoTime)).hasMessageContaining("perSecond");
        assertThatThrownBy(() -> new TokenBucket(1, 0, System::nanoTime)).hasMessageContaining("burst");
        assertThatThrownBy(() -> new RateSpec(1, 0)).hasMessageContaining("burst");
        assertThat(new RateSpec(2, 3).newBucket(() -> 0L).tryAcquire()).isTrue();
    }
}
