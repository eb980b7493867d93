// toml_json.cpp - the one C++ file: toml++ parses kernless.toml, the result goes to C as jansson JSON.
#include "client/toml_json.h"

#include <cstdio>
#include <new>
#include <sstream>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace {

// TOML's type names, as a manifest error message shows them.
const char *type_name(const toml::node &n)
{
    switch (n.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    default: return "unknown";
    }
}

// Dates and times keep their TOML spelling (a manifest has no use for them
// but must be able to name them in an error).
template <typename T> json_t *as_text(const T &v)
{
    std::ostringstream s;
    s << v;
    return json_string(s.str().c_str());
}

struct converter {
    json_t *where;

    void note(const std::string &path, int line, const toml::node &n)
    {
        json_object_set_new(where, path.c_str(), json_pack("[i,s]", line, type_name(n)));
    }

    json_t *value(const toml::node &n, const std::string &path)
    {
        if (auto t = n.as_table())
            return table(*t, path);
        if (auto a = n.as_array())
            return array(*a, path);
        if (auto s = n.as_string())
            return json_stringn(s->get().data(), s->get().size());
        if (auto i = n.as_integer())
            return json_integer(static_cast<json_int_t>(i->get()));
        if (auto f = n.as_floating_point())
            return json_real(f->get());
        if (auto b = n.as_boolean())
            return json_boolean(b->get());
        if (auto d = n.as_date())
            return as_text(d->get());
        if (auto t = n.as_time())
            return as_text(t->get());
        if (auto dt = n.as_date_time())
            return as_text(dt->get());
        return json_null();
    }

    json_t *table(const toml::table &t, const std::string &path)
    {
        json_t *o = json_object();

        for (auto &&[k, v] : t) {
            std::string key(k.str());
            std::string sub = path.empty() ? key : path + "." + key;
            // A key's own region is where the user typed it; a table from a
            // [header] has none of its own, so fall back to the value's.
            int line = static_cast<int>(k.source().begin.line);
            if (line == 0)
                line = static_cast<int>(v.source().begin.line);
            note(sub, line, v);
            json_object_set_new(o, key.c_str(), value(v, sub));
        }
        return o;
    }

    json_t *array(const toml::array &a, const std::string &path)
    {
        json_t *o = json_array();
        size_t i = 0;

        for (auto &&v : a) {
            std::string sub = path + "[" + std::to_string(i++) + "]";
            note(sub, static_cast<int>(v.source().begin.line), v);
            json_array_append_new(o, value(v, sub));
        }
        return o;
    }
};

} // namespace

extern "C" json_t *kl_toml_to_json(const char *text, size_t len, int *line, int *col,
                                   char *why, size_t why_len)
{
    *line = *col = 0;
    try {
        toml::table doc = toml::parse(std::string_view(text, len));
        converter c{json_object()};
        json_t *d = c.table(doc, "");
        return json_pack("{s:o,s:o}", "doc", d, "where", c.where);
    } catch (const toml::parse_error &e) {
        *line = static_cast<int>(e.source().begin.line);
        *col = static_cast<int>(e.source().begin.column);
        std::snprintf(why, why_len, "%s", std::string(e.description()).c_str());
    } catch (const std::bad_alloc &) {
        std::snprintf(why, why_len, "out of memory");
    } catch (const std::exception &e) {
        std::snprintf(why, why_len, "%s", e.what());
    }
    return nullptr;
}
