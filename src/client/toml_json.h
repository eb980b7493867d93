/* toml_json.h - TOML text to JSON (jansson), with each value's line, by toml++ (toml_json.cpp). */
#ifndef KL_CLIENT_TOML_JSON_H
#define KL_CLIENT_TOML_JSON_H

#include <jansson.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parse a TOML document with toml++ (the only TOML parser in the project)
 * and hand it to C as JSON: {"doc": VALUE, "where": {PATH: [LINE, TYPE]}}.
 * "doc" is the document (tables as objects, dates and times as strings);
 * "where" maps each key's path ("function[0].env.K") to the line its key is
 * on and the TOML type of its value ("string", "integer", "float",
 * "boolean", "date", "time", "date-time", "array", "table"), so callers can
 * name the line of any key they reject. Returns NULL on a syntax error, with
 * the line, column and toml++'s description in *line, *col and why.
 */
json_t *kl_toml_to_json(const char *text, size_t len, int *line, int *col,
                        char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
