package dev.toolgate.bench;

import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One connection of a load run and its share of the schedule. Open loop: the run's request number {@code i} is
 * intended to start at {@code start + i * period}; connection {@code k} of {@code n} owns the numbers
 * {@code k, k + n, k + 2n, ...} and sends each at its intended time, or as soon as a request slot frees up if it
 * is late; latency is measured from the intended time, so a slow response delays and charges the requests queued
 * behind it instead of hiding them. Closed loop: sends again as soon as a slot frees up and measures from the
 * actual send.
 *
 * <p>Not thread-safe: every method runs on the connection's event loop.
 */
abstract class Lane {
    final Run run;
    final Requests requests;
    private final int maxInFlight;
    private final long stride;
    private long next;
    private int inFlight;
    private boolean closed;
    private ScheduledFuture<?> timer;
    private boolean timerArmed;
    Channel channel;

    Lane(Run run, Requests requests, int index, int lanes, int maxInFlight) {
        this.run = run;
        this.requests = requests;
        this.maxInFlight = maxInFlight;
        this.stride = lanes;
        this.next = index;
    }

    /** Sends one request whose latency is measured from {@code startRef}; must end in {@link #done}. */
    abstract void send(long startRef);

    /** Starts sending; called on the event loop once the connection is ready. */
    final void start() {
        pump();
    }

    /** The request started at {@code startRef} ended (a full response, or a failure). */
    final void done(long startRef, boolean ok, String error) {
        inFlight--;
        run.completed(startRef, System.nanoTime(), ok, error);
        pump();
    }

    /** The connection is gone: nothing more is sent on it. */
    final void closed() {
        closed = true;
        if (timerArmed) {
            timer.cancel(false);
            timerArmed = false;
        }
    }

    final boolean isClosed() {
        return closed;
    }

    private void pump() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        if (!run.openLoop) {
            while (inFlight < maxInFlight && now < run.end) {
                issue(now);
            }
            return;
        }
        if (now >= run.end) {
            return; // what the schedule still owes is reported as not sent, not sent late after the window
        }
        while (inFlight < maxInFlight) {
            long due = run.intended(next);
            if (due >= run.end) {
                return;
            }
            if (due > now) {
                if (!timerArmed) {
                    timerArmed = true;
                    timer = channel.eventLoop().schedule(this::onTimer, due - now, TimeUnit.NANOSECONDS);
                }
                return;
            }
            next += stride;
            issue(due);
        }
    }

    private void onTimer() {
        timerArmed = false;
        pump();
    }

    private void issue(long startRef) {
        inFlight++;
        run.sent(startRef);
        send(startRef);
    }
}
