/* Minimal test harness: every CHECK prints one "PASS name" or "FAIL name
 * (file:line: expr)" line; tests/run.sh counts them. T_DONE() returns the
 * exit status (non-zero when anything failed). */
#ifndef TLSWATCH_T_H
#define TLSWATCH_T_H
#include <stdio.h>
#include <string.h>

static int t_failed_;
static int t_passed_;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            t_passed_++;                                                     \
            printf("PASS ");                                                 \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        } else {                                                             \
            t_failed_++;                                                     \
            printf("FAIL ");                                                 \
            printf(__VA_ARGS__);                                             \
            printf(" (%s:%d: %s)\n", __FILE__, __LINE__, #cond);             \
        }                                                                    \
        fflush(stdout);                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b, ...)                                              \
    do {                                                                     \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);              \
        CHECK(t_a_ == t_b_, __VA_ARGS__);                                    \
        if (t_a_ != t_b_) printf("  got %lld, want %lld\n", t_a_, t_b_);     \
    } while (0)

#define CHECK_EQ_STR(a, b, ...)                                              \
    do {                                                                     \
        const char *t_a_ = (a), *t_b_ = (b);                                 \
        int t_ok_ = t_a_ && t_b_ && strcmp(t_a_, t_b_) == 0;                 \
        CHECK(t_ok_, __VA_ARGS__);                                           \
        if (!t_ok_) printf("  got \"%s\", want \"%s\"\n",                    \
                           t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");  \
    } while (0)

#define T_DONE() (t_failed_ ? 1 : 0)

#endif
