#pragma once
// The command line operators and scripts rely on (a contract: extend it, never rename):
//   bawwab run   [--config FILE] [--listen ADDR] [--upstream URL] [--rules PATH] [--status ADDR]
//                [--workers N|auto] [--access-log PATH|-|off]
//   bawwab check [the same]        validate, print every problem as file:line:column: message
//   bawwab demo  [--listen ADDR] [--status ADDR]
//   bawwab version | --version | help | --help
namespace bawwab::cli {

// Returns the process exit code: 0 ok, 1 invalid configuration or failure to start, 2 usage.
int main(int argc, char** argv);

}  // namespace bawwab::cli
