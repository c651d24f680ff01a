// Only wiring: everything lives in the library so that tests reach it.
#include "bawwab/cli/cli.hpp"

int main(int argc, char** argv) { return bawwab::cli::main(argc, argv); }
