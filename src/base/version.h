/* src/base/version.h: kith's version, shown by --version, NodeInfo and logs. */
#ifndef KITH_BASE_VERSION_H
#define KITH_BASE_VERSION_H

#define KITH_VERSION "0.1.0-dev"

#endif
