#!/usr/bin/env python3
"""Regenerates config/demo/register.csv: a deterministic demo register of two-new
organisations and party units in districts of the seed cities, with terms ending over the
next two years and some already overdue. Run from the repository root:

    python3 config/demo/generate.py > config/demo/register.csv
"""
import csv
import datetime as dt
import random
import sys

rng = random.Random(20261122)
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

def credit_code(prefix, area):
    body = prefix + area + "".join(rng.choice(CHARSET) for _ in range(9))
    s = sum(CHARSET.index(c) * w for c, w in zip(body, WEIGHTS))
    return body + CHARSET[(31 - s % 31) % 31]

CITIES = {
    "济南": [("历下区", "370102", ["解放路街道", "泉城路街道", "姚家街道"]),
             ("市中区", "370103", ["大观园街道", "七里山街道"]),
             ("槐荫区", "370104", ["五里沟街道", "道德街街道"]),
             ("历城区", "370112", ["洪家楼街道", "山大路街道"])],
    "天津": [("和平区", "120101", ["小白楼街道", "南营门街道"]),
             ("南开区", "120104", ["长虹街道", "学府街道"]),
             ("滨海新区", "120116", ["新港街道", "塘沽街道"])],
    "延安": [("宝塔区", "610602", ["南市街道", "凤凰山街道"]),
             ("安塞区", "610603", ["真武洞街道"])],
    "泸州": [("江阳区", "510502", ["南城街道", "北城街道"]),
             ("龙马潭区", "510504", ["小市街道", "红星街道"])],
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文斌宇浩凯鹏辉俊峰晨雪婷琳颖晓东海波"
ENTERPRISE = ["科技有限公司", "信息技术有限公司", "物流有限公司", "建设工程有限公司", "餐饮管理有限公司",
              "电子商务有限公司", "医药有限公司", "新材料股份有限公司", "文化传媒有限公司", "机械制造有限公司"]
SOCIAL = ["行业协会", "商会", "律师事务所", "会计师事务所", "社会工作服务中心", "培训学校", "养老服务中心", "慈善基金会"]
WORDS = ["泉城", "齐鲁", "华泰", "鼎盛", "海河", "宏达", "延河", "宝塔", "酒城", "长江", "沱江", "金鼎",
         "恒信", "瑞丰", "明德", "博远", "众诚", "新程", "智联", "安康", "启航", "锦程", "天禾", "润泽"]
TODAY = dt.date(2026, 11, 22)

def name():
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))

def mobile(used):
    while True:
        m = rng.choice(["138", "139", "137", "150", "151", "158", "186", "187", "135", "177"]) + \
            "".join(rng.choice("0123456789") for _ in range(8))
        if m not in used:
            used.add(m)
            return m

def add_years(d, years):
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)

HEADER = ["统一社会信用代码", "组织名称", "组织类别", "区县", "街道", "从业人员数", "党员数", "党建指导员",
          "党组织编码", "党组织名称", "党组织类别", "组建方式", "上级党组织编码", "书记姓名", "书记职务",
          "书记手机", "书记邮箱", "接收方式", "任期开始", "任期届满", "最近换届日期", "主题党日"]

def theme_day():
    return str(rng.choice([5, 10, 15, 20, 25]))

def term_dates(level_years):
    # Terms end between ~6 months ago and ~24 months ahead; about one in eight is overdue.
    end = TODAY + dt.timedelta(days=rng.randint(-190, 730))
    start = add_years(end, -level_years)
    return start, end

def secretary(used, post):
    n = name()
    m = mobile(used)
    email = f"sj{m[-6:]}@example.cn" if rng.random() < 0.7 else ""
    channels = "短信,邮件" if email else "短信"
    return [n, post, m, email, channels]

def main():
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(HEADER)
    used = set()
    unit_no = 0
    for city, districts in CITIES.items():
        for district, area, streets in districts:
            committee = f"{area}-LXGW"
            c_start, c_end = term_dates(5)
            out.writerow(["", "", "", district, "", "", "", "", committee, f"{city}市{district}两新组织党委",
                          "基层委员会", "单独组建", "", *secretary(used, "党委书记"),
                          c_start.isoformat(), c_end.isoformat(), c_start.isoformat(), theme_day()])
            count = {"历下区": 40, "滨海新区": 30}.get(district, 22)
            pending_joint = []
            for _ in range(count):
                social = rng.random() < 0.3
                if social:
                    code = credit_code(rng.choice(["51", "52"]), area)
                    org_name = rng.choice(WORDS) + district[:2] + rng.choice(SOCIAL)
                    kind = "社会组织"
                else:
                    code = credit_code("91", area)
                    org_name = city + rng.choice(WORDS) + rng.choice(WORDS) + rng.choice(ENTERPRISE)
                    kind = "非公企业"
                employees = rng.randint(8, 900)
                r = rng.random()
                members = 0 if r < 0.35 else (rng.randint(1, 2) if r < 0.55 else rng.randint(3, 40))
                street = rng.choice(streets)
                instructor = name() if members == 0 and rng.random() < 0.6 else ""
                row = [code, org_name, kind, district, street, employees, members, instructor]
                if members >= 3 and rng.random() < 0.9:
                    unit_no += 1
                    level, years = ("支部", 3)
                    if members >= 30:
                        level, years = ("基层委员会", 5)
                    elif members >= 15:
                        level, years = ("总支", 3)
                    start, end = term_dates(years)
                    last = start.isoformat() if rng.random() < 0.8 else ""
                    out.writerow(row + [f"{area}-{unit_no:04d}", org_name + ("党委" if level == "基层委员会" else "党" + level),
                                        level, "单独组建", committee, *secretary(used, "党组织书记"),
                                        start.isoformat(), end.isoformat(), last, theme_day()])
                elif members in (1, 2) and rng.random() < 0.8:
                    pending_joint.append(row)
                else:
                    out.writerow(row + [""] * 14)
            # Organisations with one or two members join a joint branch, three to a branch.
            for i in range(0, len(pending_joint), 3):
                group = pending_joint[i:i + 3]
                unit_no += 1
                start, end = term_dates(3)
                code = f"{area}-{unit_no:04d}"
                first = group[0] + [code, f"{district}{group[0][4]}联合党支部", "支部", "联合组建", committee,
                                    *secretary(used, "联合党支部书记"), start.isoformat(), end.isoformat(), start.isoformat(), theme_day()]
                out.writerow(first)
                for row in group[1:]:
                    out.writerow(row + [code] + [""] * 13)

main()
