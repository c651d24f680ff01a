#pragma once
// `bawwab explain` and `bawwab replay`: the rule-tuning tools (src/cli/tuning.cpp).
namespace bawwab::cli {

int cmd_explain(int argc, char** argv);
int cmd_replay(int argc, char** argv);

}  // namespace bawwab::cli
