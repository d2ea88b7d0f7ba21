#pragma once

// Go text/template (the subset Argo Events' dataTemplate and
// contextTemplate use) with sprig's common functions. Supported: `{{ .a.b }}`,
// `{{- -}}` trimming, pipelines, variables (`$x := ...`), `if/else if/else`,
// `range` (with `$i, $v :=`), `with`, comparison functions (eq ne lt le gt
// ge and or not), `len`, `index`, `printf`, `print`, `html`, `js`,
// `urlquery`, and sprig's string and encoding functions (upper lower title
// trim trimPrefix trimSuffix replace contains hasPrefix hasSuffix quote
// squote default empty coalesce toJson toPrettyJson fromJson b64enc b64dec
// sha256sum substr trunc split join splitList list dict get hasKey keys
// toString atoi int float64 add sub mul div mod now date? no).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::go_template {

// Parses and executes `source` with `data` as dot. Errors name the column
// and what was expected; execution is bounded (no unbounded loops, output
// capped) so untrusted templates cannot hang the process.
result<std::string> render(std::string_view source, const nlohmann::json& data);

}  // namespace kairos::go_template
