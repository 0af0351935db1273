// The reader side of SONiC, built against swss-common's own library: what orchagent reads of
// APPL_DB PORT_TABLE (swss::ConsumerStateTable) and what STATE_DB subscribers read of
// PORT_TABLE (swss::SubscriberStateTable). Used by examples/portsyncd/tests/swss_consumer.rs.
//
// usage: swss_consumer DATABASE_CONFIG_JSON
// Prints "READY" once both tables are subscribed, then one line per entry popped, in the
// order popped:  APPL|STATE SET|DEL KEY [FIELD=VALUE ...]   (fields sorted by name)
// and exits 0 on SIGTERM/SIGINT.
#include <algorithm>
#include <csignal>
#include <deque>
#include <iostream>
#include <string>
#include <vector>

#include "swss/consumerstatetable.h"
#include "swss/dbconnector.h"
#include "swss/select.h"
#include "swss/subscriberstatetable.h"

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int) { g_stop = 1; }

static void print(const char *db, const swss::KeyOpFieldsValuesTuple &e)
{
    std::vector<swss::FieldValueTuple> fv = kfvFieldsValues(e);
    std::sort(fv.begin(), fv.end());
    std::cout << db << ' ' << kfvOp(e) << ' ' << kfvKey(e);
    for (const auto &f : fv)
        std::cout << ' ' << fvField(f) << '=' << fvValue(f);
    std::cout << std::endl; // flushed: the test reads lines as they come
}

int main(int argc, char **argv)
{
    if (argc != 2)
    {
        std::cerr << "usage: swss_consumer DATABASE_CONFIG_JSON" << std::endl;
        return 2;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    try
    {
        swss::SonicDBConfig::initialize(argv[1]);
        swss::DBConnector appl("APPL_DB", 0);
        swss::DBConnector state("STATE_DB", 0);
        swss::ConsumerStateTable port(&appl, "PORT_TABLE");
        swss::SubscriberStateTable statePort(&state, "PORT_TABLE");
        swss::Select sel;
        sel.addSelectable(&port);
        sel.addSelectable(&statePort);
        std::cout << "READY" << std::endl;
        while (!g_stop)
        {
            swss::Selectable *s = nullptr;
            int r = sel.select(&s, 100);
            if (r == swss::Select::TIMEOUT)
                continue;
            if (r != swss::Select::OBJECT)
            {
                std::cerr << "select: " << r << std::endl;
                return 1;
            }
            std::deque<swss::KeyOpFieldsValuesTuple> entries;
            if (s == &port)
            {
                port.pops(entries);
                for (const auto &e : entries)
                    print("APPL", e);
            }
            else if (s == &statePort)
            {
                statePort.pops(entries);
                for (const auto &e : entries)
                    print("STATE", e);
            }
        }
    }
    catch (const std::exception &e)
    {
        std::cerr << "swss_consumer: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
