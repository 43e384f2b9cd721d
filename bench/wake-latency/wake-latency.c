/*
 * How late a sleeping thread wakes on this machine, and how late the earlier of several does.
 *
 * Each of N threads (one per core, pinned to it) sleeps to the same absolute deadlines, 1-21 ms
 * apart, with clock_nanosleep, and notes how late it woke. The summary gives each thread's count
 * of wake-ups more than 1, 2, 5 and 10 ms late and its latest, and the same for the earlier
 * thread of each deadline: what sockhub's quiz gets from its deadline threads, one per core.
 * Run it beside a load (`sockhub bench quiz --bots 5000`) to see what the load does to them.
 *
 *   cc -O2 -pthread -o wake-latency bench/wake-latency/wake-latency.c
 *   ./wake-latency [seconds=30] [threads=2] [other|fifo]
 *
 * "fifo" (SCHED_FIFO, needs privileges) shows whether a real-time thread does any better.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 8
#define MAX_WAKES 200000

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int64_t start_ns, seconds, fifo;
static int64_t late[MAX_THREADS][MAX_WAKES];
static int wakes[MAX_THREADS];

static void *sleeper(void *arg) {
    int i = (int)(intptr_t)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(i, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
    if (fifo) {
        struct sched_param p = {.sched_priority = 10};
        if (sched_setscheduler(0, SCHED_FIFO, &p) != 0) perror("SCHED_FIFO");
    }
    unsigned seed = 42; /* the same deadlines for every thread */
    int64_t target = start_ns;
    for (int n = 0; n < MAX_WAKES; n++) {
        target += 1000000 + rand_r(&seed) % 20000000;
        if (target > start_ns + seconds * 1000000000LL) break;
        struct timespec t = {target / 1000000000LL, target % 1000000000LL};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
        late[i][n] = now_ns() - target;
        wakes[i] = n + 1;
    }
    return NULL;
}

static void report(const char *who, const int64_t *v, int n) {
    int over[4] = {0};
    int64_t max = 0;
    const int64_t limits[4] = {1000000, 2000000, 5000000, 10000000};
    for (int k = 0; k < n; k++) {
        for (int j = 0; j < 4; j++) over[j] += v[k] > limits[j];
        if (v[k] > max) max = v[k];
    }
    printf("%-10s wakes %6d  >1ms %4d  >2ms %4d  >5ms %4d  >10ms %4d  latest %.2f ms\n", who, n, over[0], over[1],
           over[2], over[3], max / 1e6);
}

int main(int argc, char **argv) {
    seconds = argc > 1 ? atoll(argv[1]) : 30;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    fifo = argc > 3 && strcmp(argv[3], "fifo") == 0;
    if (threads < 1 || threads > MAX_THREADS) threads = 2;
    start_ns = now_ns() + 100000000LL;
    pthread_t t[MAX_THREADS];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, sleeper, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    int n = MAX_WAKES;
    static int64_t earliest[MAX_WAKES];
    for (int i = 0; i < threads; i++) {
        char who[16];
        snprintf(who, sizeof who, "core %d", i);
        report(who, late[i], wakes[i]);
        if (wakes[i] < n) n = wakes[i];
    }
    for (int k = 0; k < n; k++) {
        earliest[k] = late[0][k];
        for (int i = 1; i < threads; i++)
            if (late[i][k] < earliest[k]) earliest[k] = late[i][k];
    }
    report("earliest", earliest, n);
    return 0;
}
