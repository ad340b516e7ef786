/*
 * parser.h - all that the host and the parser plugin share: the method numbers,
 * the result layout and the plugin's two entry points for keel_domain_config.
 */
#ifndef PLUGIN_PARSER_H
#define PLUGIN_PARSER_H

#include <keel/keel.h>

enum { PARSER_PARSE, PARSER_METHOD_COUNT };

/* What PARSER_PARSE writes to the call's result. */
typedef struct parsed_record {
    char name[16];
    long count, total, average;
    unsigned long parsed; /* records parsed by this incarnation of the plugin */
} parsed_record;

/* `context` is a keel_rref *: init exports the parser into it, and recover
 * re-exports a fresh parser into the same rref after a failure. */
keel_status parser_init(keel_domain *domain, void *context);
keel_status parser_recover(keel_domain *domain, void *context);

#endif /* PLUGIN_PARSER_H */
