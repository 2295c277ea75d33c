"""Choosing and marking the answering sentence: answer types, features, highlight extent."""

from __future__ import annotations

import numpy as np
import pytest

from newsbot.embeddings import answertype, choose, highlight
from newsbot.embeddings.excerpt import build_excerpt


def test_question_types():
    assert answertype.question_type("甬江街道总工会主席是谁?") == answertype.PERSON
    assert answertype.question_type("海曙区是哪天发现初筛阳性人员的?") == answertype.TIME
    assert answertype.question_type("南寧會議在哪一年時舉行?") == answertype.TIME
    assert answertype.question_type("甬江街道培育出几名“浙江工匠”?") == answertype.NUMBER
    assert answertype.question_type("杭州电信工会和哪家医院合作？") == answertype.ORG
    assert answertype.question_type("Which county held a kite-painting event?") == answertype.PLACE
    assert answertype.question_type("工会怎样帮职工解决孩子看病的问题?") is None
    # 哪一个… as well as 哪个… (read as Simplified, as toward_kind reads DRCD's 哪一個)
    assert answertype.question_type("哪一个人接任了杨善德浙江督军的职位?") == answertype.PERSON
    assert answertype.question_type("卢安达的北边与哪一个国家相邻?") == answertype.PLACE
    assert answertype.question_type("喀山在哪一个世纪成为喀山公国的中心?") == answertype.TIME


def test_traditional_sentences_are_tagged_by_their_simplified_reading():
    """jieba's dictionary is Simplified: cut as written, 維多利亞 is 維 / 多利 (a person) / 亞, and a
    long Traditional sentence costs its HMM seconds. Tagged by the Simplified reading, the words
    come back in the sentence's own characters."""
    sentence = "1853年，他在倫敦與維多利亞女王會面。"
    assert "".join(w for w, _ in answertype.tagged(sentence)) == sentence
    assert answertype._names(sentence, answertype.PLACE) == {"倫敦", "維多利亞"}
    assert answertype._names(sentence, answertype.PERSON) == set()
    assert answertype._names("梅艷芳與謝霆鋒是結拜姊弟。", answertype.PERSON) == {"梅艷芳", "謝霆鋒"}


@pytest.mark.parametrize(
    "kind, question, holds, lacks",
    [
        (answertype.PERSON, "甬江街道总工会主席是谁?", "街道工会主席郑亚萍拿着对账单。", "甬江街道总工会成立于去年。"),
        (answertype.NUMBER, "尤金袋鼠的体重大约是多少？", "尤金袋鼠很细小，约只有8公斤重。", "尤金袋鼠的奶中有一种物质。"),
        # a number question that says what it measures is answered by a number in such a unit
        (answertype.NUMBER, "东关街有多长？", "东关街是一条东西向街道，全长1122米。", "逸圃（东关街356号）列为全国重点文物保护单位。"),
        (answertype.NUMBER, "長城有多長?", "明長城全長8851.8公里。", "天保三年至天保八年六年時間裡，大修長城有五次。"),
        (answertype.NUMBER, "鶴慶縣的面積有多大?", "全縣面積2395平方公里。", "1949年，鶴慶縣屬麗江專區。"),
        # a number with 万 (188萬公里), and the old unit 华里
        (answertype.NUMBER, "木衛四距離木星大約多遠?", "其軌道距離木星約188萬公里。", "木衛四是距離木星最遠的伽利略衛星。"),
        (answertype.NUMBER, "长城有多长?", "長城東西綿延上萬華里。", "北齊年間修建規模最大。"),
        (answertype.NUMBER, "臺灣日治時期總共持續多久?", "至1945年日本投降，計約50年。", "1895年6月17日舉行始政式。"),
        # 哪一年 is answered by a year (a reign's too), not by the day and hour of the sentence after it
        (answertype.TIME, "在哪一年穆罕默德二世進入君士坦丁堡?", "1453年4月，圍城開始。", "5月30日上午，穆罕默德二世進入君士坦丁堡。"),
        (answertype.TIME, "圜丘壇於何年建成?", "圜丘壇始建於嘉靖九年。", "冬至日清晨，皇帝在此祭天。"),
        (answertype.TIME, "冰雪皇后什么时候退出了台湾市场？", "2017年3月5日品牌正式撤出台湾。", "冰雪皇后是连锁餐厅。"),
        (answertype.ORDINAL, "蒙泰罗在2005年美国大奖赛上获得第几名？", "最终蒙泰罗排在舒马赫之后，获得第3名。", "只有3支车队的6辆赛车起跑。"),
        (answertype.COLOR, "黄鳍紫鱼的身体是什么颜色的？", "体呈淡蓝红色，头部有网状斑点。", "为辐鳍鱼纲鲈形目的一个种。"),
        (answertype.ALIAS, "马来穿山甲的别称是什么？", "马来穿山甲，又名爪哇穿山甲或爪哇鲮鲤。", "马来穿山甲的爪厚及强壮。"),
        (answertype.ALIAS, "這種植物又叫什麼?", "這種植物俗稱死老鼠樹。", "這種植物的果實可以吃。"),
        (answertype.ALIAS, "東德政府是如何稱呼柏林圍牆的?", "東德政府稱此牆為「反法西斯防衛牆」。", "東德政府修建了此牆。"),
        (answertype.ALIAS, "文字抄寫在獸皮書上的書體被稱之為?", "這種書體，被稱為「粗俗體大寫」。", "抄寫工具也轉變了。"),
        (answertype.NAME_ORIGIN, "盾柱木的名字是怎样得来的？", "因盾柱木的柱头形状貌如盾形，故而得名。", "盾柱木是一种落叶乔木。"),
        (answertype.NAME_ORIGIN, "百老汇剧院是因何得名的？", "因为剧院大多数皆在百老汇街道附近，故被统称为百老汇剧院。",
         "百老汇剧院区域是纽约巿的重要旅游景点。"),
        (answertype.PART, "黄蝉的花是什么样子？", "花为聚繖花序顶生，鲜黄色。", "花期为5-8月，果期10-12月。"),
        (answertype.PART, "纽西兰鸡毛松的树叶是什么形状的？", "其叶螺旋状排列，幼树的叶呈尖锥状。", "树高可达55米。"),
        (answertype.PART, "长柄艾纳香的上部叶有什么特点？", "上部叶小，无柄或有短柄。", "下部叶有长达3-4厘米的细柄。"),
    ],
)
def test_answer_type_matches_words_the_question_lacks(kind, question, holds, lacks):
    assert answertype.question_type(question) == kind
    assert answertype.matches(kind, holds, question) == 1.0
    assert answertype.matches(kind, lacks, question) == 0.0


def test_words_that_introduce_another_name_count_though_the_question_uses_them():
    # 别称 in the question is what it asks about, not the answer: the sentence's 别称 still counts.
    assert answertype.matches(answertype.ALIAS, "别称双翼豆、闭䇲木。", "盾柱木的别称是什么？") == 1.0
    # a name asked about inside a question asking for someone is not an alias question
    assert answertype.question_type("黄帝纪元，又称轩辕纪年，此种概念最早由谁提出?") == answertype.PERSON
    assert answertype.question_type("为什么叫猴面包树？") == answertype.NAME_ORIGIN
    assert answertype.question_type("为什么下雨？") == answertype.REASON
    assert answertype.question_type("斯氏腔吻鳕的外形是怎样的？") is None  # no part named


def test_no_answer_type_matches_nothing():
    assert answertype.matches(None, "任何句子。", "任何问题") == 0.0
    assert answertype.question_type("為什麼維基媒體標記式語言規範沒有被支持？") == answertype.REASON


def test_focus_prefers_the_sentence_about_the_rest_of_the_question():
    texts = ["大果西番莲是西番莲属的植物中果实最大的一种。", "它分布于热带美洲。", "它的根部可用来当作催吐剂。"]
    from newsbot.embeddings.excerpt import char_ngrams, query_grams
    from newsbot.embeddings.tokenize import tokenize

    q = "大果西番莲的根部有什么作用？"
    tokens = [frozenset(tokenize(t)) for t in texts]
    grams = [frozenset(char_ngrams(t)) for t in texts]
    weights = {t: 1.0 for t in tokenize(q) if t not in ("的", "有", "什么", "？")}
    f = choose.features(q, weights, query_grams(q), {"大果", "西番莲", "大果西番莲"}, texts, tokens, grams, [0, 1, 2],
                        [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], None, {"focus"})
    assert int(np.argmax(f[:, choose.FEATURES.index("focus")])) == 2
    assert choose.choose_two(f, {"focus": 1.0}, 0.0)[0] == 2


def test_highlight_grows_over_clauses_and_back_references():
    texts = ["纽西兰鸡毛松是特有种；", "树高可达55米。", "钙含量比菠菜高50％以上。", "因此它有时也被称为笨蛋水果。", "另起一段。"]
    paras = [1, 1, 1, 1, 2]
    assert highlight.extent(texts, paras, 1) == (0, 1)  # the clause before joins: one sentence
    assert highlight.extent(texts, paras, 3) == (2, 3)  # 因此… reads with the sentence before
    assert highlight.extent(texts, paras, 3, back=False) == (3, 3)
    assert highlight.extent(texts, paras, 4) == (4, 4)  # never across a paragraph
    assert highlight.extent(texts, paras, 1, clauses=False) == (1, 1)
    year = ["1925年，《大公报》停刊。", "同年，报社迁往上海。", "该报后来复刊。"]
    assert highlight.extent(year, [1, 1, 1], 1) == (0, 1)  # 同年 names no year: the one before does
    assert highlight.extent(year, [1, 1, 1], 2) == (1, 2)  # 该报: the paper named before


def test_next_sentence_skips_the_clauses_of_its_own():
    texts = ["纽西兰鸡毛松（学名：'；", "是罗汉松科的一种。", "树高可达55米。", "另起一段。"]
    paras = [1, 1, 1, 2]
    assert highlight.next_sentence(texts, paras, 0) == 2  # past the clause that ends its sentence
    assert highlight.next_sentence(texts, paras, 1) == 2
    assert highlight.next_sentence(texts, paras, 2) is None  # never across a paragraph
    assert highlight.next_sentence(texts, paras, 3) is None


def test_a_mark_that_opens_a_quotation_runs_to_its_close():
    # The splitter cuts inside quotations; a mark must not stop halfway through the words quoted.
    texts = ["2006年，媒体错误地报导娜塔莎与亚当约会。", "她谈到媒体的报导：「亚当是可爱的，但我没有和他约会。", "一旦你跟一个著名的家伙聊天，你便会被认为与他有紧密的关系。", "」。", "娜塔莎最近出版了新书。"]
    paras = [1, 1, 1, 1, 1]
    assert highlight.mark(texts, paras, 1, None, "娜塔莎是怎么回应的?", account=False, leans=False) == (1, 3)
    assert highlight.mark(texts, paras, 0, None, "谁报导了?", account=False, leans=False) == (0, 0)  # nothing open: unchanged
    # 她 names no one: the sentence before, which names her, is marked too
    assert highlight.mark(texts, paras, 1, None, "娜塔莎是怎么回应的?", account=False) == (0, 3)
    assert highlight.close_quote(texts, [1, 1, 2, 2, 2], 1, 1) == (1, 1)  # never across a paragraph
    long = [texts[1], "长" * 199 + "。", "」。"]
    assert highlight.close_quote(long, [1, 1, 1], 0, 0) == (0, 0)  # nor past MAX_TIED_CHARS
    assert highlight.close_quote(["他说：“好。", "”"], [1, 1], 0, 0) == (0, 1)


def test_a_mark_is_grown_to_what_it_leans_on():
    # It names something only by pointing at it (这张专辑): the sentence before names it.
    texts = ["2000年，乐团推出第二张专辑《爱情万岁》，销量超过前一张。", "五月天也以这张专辑获得第十二届金曲奖的最佳乐团奖。", "另起一段。"]
    paras = [1, 1, 2]
    q = "五月天的哪一张专辑获得了第十二届金曲奖的最佳乐团奖？"
    assert highlight.mark(texts, paras, 1, None, q) == (0, 1)
    assert highlight.mark(texts, paras, 1, None, q, leans=False) == (1, 1)
    assert highlight.mark(texts, [1, 2, 2], 1, None, q) == (1, 1)  # never across a paragraph
    city = ["杜林曾是欧洲重要的政治中心。", "位于波河左岸，是皮埃蒙特的首府。"]
    assert highlight.refer(city, [1, 1], 1, 1, "皮埃蒙特的首府叫什么名字？") == (0, 1)  # no subject: the one before
    assert highlight.refer(city[::-1], [1, 1], 0, 0, "皮埃蒙特的首府叫什么名字？") == (0, 0)  # nothing before it
    # It restates the question, all its words the question's: the answer stands beside it.
    island = ["韩国南部海岸和济州岛为暖温带。", "植被为阔叶常绿植被。", "年降水量约1500毫米。"]
    q2 = "哪一座位于韩国的岛屿其植被是阔叶常绿植被？"
    assert highlight.restates(q2, island[1])
    assert not highlight.restates(q2, island[0])  # 济州岛, 暖温带: words of its own
    assert highlight.restates("哪一座位於韓國的島嶼其植被是闊葉常綠植被？", "植被為闊葉常綠植被。")  # read as Simplified
    assert highlight.mark(island, [1, 1, 1], 1, None, q2) == (0, 2)
    assert highlight.mark(island, [1, 1, 1], 0, None, "韩国南部海岸属于什么气候带？") == (0, 0)  # says more: alone
    # the index's tokens of each unit serve as well as cutting the text again
    from newsbot.embeddings.tokenize import tokenize
    cut = [frozenset(tokenize(t)) for t in island]
    assert highlight.mark(island, [1, 1, 1], 1, None, q2, tokens=cut) == (0, 2)
    assert highlight.mark(island, [1, 1, 1], 0, None, "韩国南部海岸属于什么气候带？", tokens=cut) == (0, 0)


def test_a_mark_without_the_kind_of_answer_asked_grows_to_the_neighbour_with_it():
    texts = ["1925年，《大公报》在天津复刊。", "报社随后迁往上海，影响日增。", "另起一段。"]
    paras = [1, 1, 2]
    assert highlight.mark(texts, paras, 1, None, "大公报在哪一年迁往上海？") == (0, 1)  # the year is before
    assert highlight.mark(texts, paras, 1, None, "大公报在哪一年迁往上海？", leans=False) == (1, 1)
    assert highlight.mark(texts, paras, 1, None, "大公报迁往了哪里？") == (1, 1)  # 上海: the mark holds a place
    both = ["1925年复刊。", "报社迁往上海。", "1936年成为全国大报。"]
    assert highlight.toward_kind(both, [1, 1, 1], 1, 1, "报社在哪一年迁往上海？") == (0, 2)  # a year on each side
    assert highlight.toward_kind(both, [1, 1, 1], 1, 1, "報社在什麼時候遷往上海？") == (0, 2)  # 什麼時候: read as Simplified
    assert highlight.toward_kind(both, [1, 2, 2], 1, 1, "报社在哪一年迁往上海？") == (1, 2)  # not across a paragraph
    assert highlight.toward_kind(both, [1, 1, 1], 1, 1, "报社为什么迁往上海？") == (1, 1)  # no cause beside it either


def test_a_mark_that_announces_what_follows_takes_it_in():
    texts = ["印度野驴是亚洲野驴亚种。", "印度野驴与非洲野驴有些分别。", "牠们的毛多呈沙色。", "牠们背及颈上的鬃毛正立及深色。", "牠们曾分布至伊朗。"]
    para = [1, 1, 1, 1, 2]
    assert highlight.announced(texts, para, 1, 1) == (1, 3)  # not across the paragraph
    assert highlight.mark(texts, para, 1, None, "印度野驴与非洲野驴的分别是什么？")[1] == 3
    listed = ["其特点主要有以下三点：第一，职官与长者并用。", "第二，刑禁与教化并施。", "第三，秩序制和晋升制于一体。"]
    assert highlight.announced(listed, [1, 1, 1], 0, 0) == (0, 2)
    below = ["韦弗尔指出，用神经齐射理论可以对5000Hz以下的声音进行频率分析。", "声音频率超过5000Hz时则不然。"]
    assert highlight.announced(below, [1, 1], 0, 0) == (0, 0)  # 以下 as "below" announces nothing
    many = ["它目前设有20多个不同的奖项，囊括了各种电影类型。", "它每年在洛杉矶举行颁奖典礼。"]
    assert highlight.announced(many, [1, 1], 0, 0) == (0, 0)


def test_focus_leaves_out_the_headline_and_its_bigrams_across_words():
    terms = choose.headline_terms("纽西兰鸡毛松")
    assert {"鸡毛", "毛松", "兰鸡"} <= terms  # 毛松 spans jieba's 鸡毛 / 松
    q = "纽西兰鸡毛松有多高？"
    grams = {"纽西", "西兰", "兰鸡", "鸡毛", "毛松", "松有", "有多", "多高"}
    texts = ["纽西兰鸡毛松是罗汉松科的一种。", "树高可达55米。"]
    toks = [frozenset(["纽西兰", "鸡毛", "松", "罗汉松"]), frozenset(["树高", "55", "米"])]
    sgrams = [frozenset(["纽西", "西兰", "兰鸡", "鸡毛", "毛松", "罗汉", "汉松"]), frozenset(["树高", "高可"])]
    f = choose.features(q, {"纽西兰": 1.0, "鸡毛": 1.0, "松有": 1.0}, grams, terms, texts, toks, sgrams, [0, 1],
                        [1.0, 0.0], [0.0, 0.0], None, {"focus"})
    assert f[0, choose.FEATURES.index("focus")] == 0.0  # the opening line only names the subject


def test_a_sentence_that_says_nothing_asked_is_marked_with_the_next():
    row = np.zeros(len(choose.FEATURES))
    row[choose.FEATURES.index("lexical")] = 0.8  # only the headline's words (the subject)
    assert choose.says_nothing_asked(row, {"focus", "define"})
    assert not choose.says_nothing_asked(row, {"lexical"})  # focus not computed: nothing known
    row[choose.FEATURES.index("focus")] = 0.3
    assert not choose.says_nothing_asked(row, {"focus", "define"})
    row[choose.FEATURES.index("focus")], row[choose.FEATURES.index("define")] = 0.0, 1.0
    assert not choose.says_nothing_asked(row, {"focus", "define"})  # it defines the subject asked about


@pytest.mark.parametrize("question, account", [
    ("产妇症状是什么？", True), ("为什么此战奠定了他的霸权？", True), ("专家们有哪些观点？", True),
    ("How did the fire start?", True), ("How many people live there?", False),
    ("纽西兰鸡毛松有多高？", False), ("甬江街道工会主席是谁？", False), ("哪一年成立？", False),
    # 为什么 read as "for / as what", and words that only contain an account word
    ("什么是羊水栓塞？", True), ("三鹰球是什么？", True), ("這是為什麼？", True), ("鄭成功改名赤崁為什麼?", False), ("網球因為什麼制度的廢棄而進入開放時代？", False),
    ("哪一個人是災變論最具影響力的支持者?", False), ("要搭飛機來往關島一定會經過哪邊？", False),
])
def test_which_questions_ask_for_an_account(question, account):
    assert highlight.asks_for_account(question) is account


def test_an_account_runs_on_into_the_next_sentence_of_the_paragraph():
    texts = ["产妇症状为呼吸困难及低血压，", "出现缺氧。", "不久进入昏迷状态；", "随后心跳停止。", "另起一段。"]
    paras = [1, 1, 1, 1, 2]
    assert highlight.grow_on(texts, paras, 0, 1) == (0, 3)  # the next sentence, with its clauses
    assert highlight.grow_on(texts, paras, 2, 3) == (2, 3)  # never across a paragraph
    assert highlight.grow_on(texts, paras, 4, 4) == (4, 4)  # nothing follows
    long = ["甲" * 120 + "。", "乙" * 100 + "。"]
    assert highlight.grow_on(long, [1, 1], 0, 0) == (0, 0)  # too long to mark both


def test_a_reason_is_marked_with_the_sentence_before():
    texts = ["阎行乘夜攻击韩遂，但失败。", "韩遂极为失意，", "建议韩遂投靠羌人。", "韩遂听从。", "另起一段。"]
    paras = [1, 1, 1, 1, 2]
    assert highlight.grow_back(texts, paras, 1, 2) == (0, 2)
    assert highlight.grow_back(texts, paras, 4, 4) == (4, 4)  # never across a paragraph
    assert highlight.grow_back(["甲" * 120 + "。", "乙" * 100 + "。"], [1, 1], 1, 1) == (1, 1)  # too long
    assert highlight.mark(texts, paras, 2, None, "韩遂为什么要投靠羌人？") == (0, 3)  # before, chosen, after
    assert highlight.mark(texts, paras, 2, None, "韩遂如何投靠羌人？") == (1, 3)  # an account, not a reason
    assert highlight.mark(texts, paras, 2, None, "韩遂投靠了谁？", leans=False) == (1, 2)
    assert highlight.mark(texts, paras, 2, None, "韩遂为什么要投靠羌人？", account=False) == (1, 2)


def test_build_excerpt_highlights_the_extent():
    sents = ["第一句。", "钙含量比菠菜高。", "因此被称为笨蛋水果。", "最后一句。"]
    text, span, chosen = build_excerpt(sents, 2, [0.0, 0.5, 1.0, 0.0], extent=(1, 2))
    assert text[span[0] : span[1]] == "钙含量比菠菜高。因此被称为笨蛋水果。"
    assert {1, 2} <= set(chosen)
    # an extent that does not fit falls back to the best sentence alone
    text, span, _ = build_excerpt(sents, 2, [0.0, 0.5, 1.0, 0.0], limit=14, extent=(1, 2))
    assert text[span[0] : span[1]] == "因此被称为笨蛋水果。"


def test_an_account_excerpt_goes_on_after_the_highlight():
    # A strong sentence far away would take the room; for an account the sentences after the
    # highlight come first, in order, up to ``run_on`` of them.
    sents = ["开头一句。", "迦楼罗人面鸟身形。", "嘴如鹰喙。", "身后两翅红色。", "中间" * 20 + "。", "迦楼罗的鸟身很大。"]
    scores = [0.0, 1.0, 0.0, 0.0, 0.0, 0.9]
    plain = build_excerpt(sents, 1, scores, limit=26)
    assert plain.shown == [0, 1, 5]
    on = build_excerpt(sents, 1, scores, limit=26, run_on=3)
    assert on.text == "…迦楼罗人面鸟身形。嘴如鹰喙。身后两翅红色。…" and on.text[slice(*on.highlight)] == "迦楼罗人面鸟身形。"
    assert build_excerpt(sents, 1, scores, limit=26, run_on=1).shown == [1, 2, 5]  # one, then the rest as before


def test_refusal_features_key_term_and_unknown_names():
    from newsbot.embeddings import refusal
    from newsbot.embeddings.excerpt import char_ngrams, query_grams

    article = "盛青李是杭州电信工会主席。她带领职工开展活动。"
    tokens = frozenset({"盛青", "李是", "杭州", "电信", "工会", "主席", "职工", "活动"})
    grams = frozenset(char_ngrams(article))
    # A name jieba cuts differently in the question still counts as found (by its characters).
    q = "盛青李担任什么职务?"
    f = refusal.features({"盛青李": 9.0, "担任": 2.0, "职务": 3.0}, query_grams(q), {"担任": 5, "职务": 5}, refusal.normalise(article), tokens, grams, 0.5, 0.2)
    assert f["key_found"] == 1.0 and f["unknown"] == 0.0
    # The rarest term of a question from elsewhere is missing: key not found, unknown mass high.
    q = "东京奥运会中国队获得多少枚金牌?"
    f = refusal.features({"东京": 8.0, "奥运会": 6.0, "金牌": 6.0}, query_grams(q), {"奥运会": 3, "金牌": 2}, refusal.normalise(article), tokens, grams, 0.5, 0.2)
    assert f["key_found"] == 0.0 and f["art_cov"] == 0.0 and f["unknown"] > 0.3
    assert refusal.score({"bias": 1.0, "key_found": 0.0}, {"bias": -1.0, "key_found": 2.0}) == -1.0


def test_refusal_features_headline_and_rarest_term():
    """``title_cov``: the share of the question's weight its article's headline names;
    ``spec``: its rarest term's weight on the scale of a term the index has never seen."""
    from newsbot.embeddings import refusal
    from newsbot.embeddings.excerpt import char_ngrams, idf

    article = "短叶水蜈蚣\n中医上以全草入药，主治感冒发热。"
    tokens = frozenset({"短叶", "水蜈蚣", "中医", "全草", "入药", "主治", "感冒", "发热"})
    grams = frozenset(char_ngrams(article))
    top = idf(0, 1000)
    args = (set(), {}, refusal.normalise(article), tokens, grams, 0.3, 0.5)
    # An everyday question sharing a common word with the article: its headline names none of it.
    everyday = refusal.features({"感冒": 4.0, "吃": 1.0, "药": 3.0}, *args, refusal.normalise("短叶水蜈蚣"), top)
    assert everyday["title_cov"] == 0.0 and everyday["spec"] == pytest.approx(4.0 / top)
    # A question about the article names its headline's subject, a rare term.
    asked = refusal.features({"水蜈蚣": 7.0, "主治": 3.0}, *args, refusal.normalise("短叶水蜈蚣"), top)
    assert asked["title_cov"] == pytest.approx(0.7) and asked["spec"] == pytest.approx(7.0 / top)
    # Without a headline or the index's scale, both are 0 (the weights fitted without them still apply).
    bare = refusal.features({"水蜈蚣": 7.0}, *args)
    assert bare["title_cov"] == 0.0 and bare["spec"] == 0.0


def test_plausible_later_results():
    from newsbot.embeddings import plausible

    ev = {"art_cov": 0.2, "key_found": 0.0, "gram_cov": 0.1}
    f = plausible.features(2.0, 0.8, 0.7, 0.2, False, ev)
    assert f["relative"] == 0.35 and f["cov_ratio"] == 0.25 and f["same_article"] == 0.0
    assert not plausible.keep(f, {"bias": -1.0, "key_found": 2.0})
    assert plausible.keep(f | {"key_found": 1.0}, {"bias": -1.0, "key_found": 2.0})


def test_cues_words_beside_the_question_word_and_definitions():
    from newsbot.embeddings import cues
    from newsbot.embeddings.tokenize import tokenize

    q = "蒙泰罗在2005年美国大奖赛上获得第几名？"
    assert "获得" in cues.neighbours(q) and "蒙泰罗" not in cues.neighbours(q)
    right, wrong = "最终蒙泰罗排在舒马赫之后，获得第3名。", "2005年美国大奖赛，只有6辆赛车起跑，其中包括蒙泰罗。"
    w = {t: 1.0 for t in tokenize(q)}
    assert cues.near(q, w, right, frozenset(tokenize(right))) > cues.near(q, w, wrong, frozenset(tokenize(wrong)))
    assert cues.defined("什么是乙酰胺？") == "乙酰胺" and cues.defined("易颉输入法是什么？") == "易颉输入法"
    assert cues.defined("乙酰胺有什么用途？") is None
    assert cues.defines("易颉输入法", "易颉输入法（简称易颉）是一种智慧型仓颉输入法。") == 1.0
    assert cues.defines("乙酰胺", "乙酰胺的衍生物二甲基乙酰胺是常用溶剂。") == 0.0
    assert cues.defines("约化群", "在数学中，约化群是幂单根为平凡群的代数群。") == 1.0  # the field first
    assert cues.asks_definition("什么是约化群？") and cues.asks_definition("What is a reductive group?")
    assert not cues.asks_definition("椭球坐标的标度因子是什么？")  # defined() reads it, but it asks for a value
    assert not cues.asks_definition("What is the capital of Australia?")
    lead = "牛车水（；）是新加坡的唐人街。"
    assert cues.defines("牛车水事件", lead) == 1.0 and cues.defines("牛车水事件", lead, exact=True) == 0.0


def test_what_is_x_is_answered_by_the_sentence_defining_x():
    f = np.zeros((3, len(choose.FEATURES)), np.float32)
    f[:, 0] = [0.5, 1.0, 0.9]  # lexically, the second sentence is best and the third near it
    f[0, choose.FEATURES.index("define")] = 1.0
    w = {"lexical": 1.0}
    assert choose.choose_two(f, w, 0.35, question="什么是乙酰胺？")[:2] == (0, None)
    assert choose.choose_two(f, w, 0.35, question="乙酰胺有什么用途？")[:2] == (1, 2)
    f[0, choose.FEATURES.index("define")] = 0.0
    assert choose.choose_two(f, w, 0.35, question="什么是乙酰胺？")[:2] == (1, 2)  # none defines it


def test_a_measure_or_year_question_is_answered_by_a_sentence_holding_one():
    f = np.zeros((3, len(choose.FEATURES)), np.float32)
    f[:, 0] = [1.0, 0.6, 0.4]  # lexically the first sentence ("大修长城有五次") is best
    f[1:, choose.FEATURES.index("atype")] = 1.0  # the others hold a length
    w = {"lexical": 1.0}
    assert choose.choose_two(f, w, 0.0, question="长城有多长?")[:2] == (1, None)
    assert choose.choose_two(f, w, 0.0, question="长城有几座关口?")[:2] == (0, None)  # any number answers 几
    assert choose.choose_two(f, w, 0.0, question="长城在哪一年入选世界新七大奇迹?")[:2] == (1, None)  # a year, the same
    assert choose.choose_two(f, w, 0.0, question="长城是谁修建的?")[:2] == (0, None)  # 他 may answer who
    f[1:, choose.FEATURES.index("atype")] = 0.0
    assert choose.choose_two(f, w, 0.0, question="长城有多长?")[:2] == (0, None)  # none holds one


def test_a_near_tie_marks_the_runner_up_too():
    f = np.zeros((3, len(choose.FEATURES)), np.float32)
    f[:, 0] = [1.0, 0.9, 0.2]
    assert choose.choose_two(f, {"lexical": 1.0}, 0.35)[:2] == (0, 1)  # e^-0.1 >= 0.35
    assert choose.choose_two(f, {"lexical": 1.0}, 0.95)[:2] == (0, None)
    assert choose.choose_two(f, {"lexical": 1.0}, 0.0) == (0, None, 1.0)


def test_rerank_puts_the_result_whose_sentence_fits_first_and_keeps_close_calls():
    from newsbot.embeddings import rerank

    w = {"fused": 0.5, "first": 0.1, "choice": 0.6, "coverage": 1.0}
    # The second result scores a little lower but its best sentence fits far better: it leads.
    rows = rerank.features([2.0, 1.9, 1.0], [-1.0, 0.5, 0.0], [0.5, 0.5, 0.2])
    assert rows[0]["first"] == 1.0 and rows[1]["fused"] == pytest.approx(-0.1)
    assert rerank.order(rows, w)[0] == 1
    # Everything equal but the score: the order stays.
    rows = rerank.features([2.0, 1.9, 1.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5])
    assert rerank.order(rows, w) == [0, 1, 2]
    assert rerank.order(rows, {}) == [0, 1, 2]  # no weights: score order
    # The headline names what the question names: that result leads.
    rows = rerank.features([2.0, 1.9], [0.0, 0.0], [0.5, 0.5], [0.0, 0.6])
    assert rows[1]["title"] == 0.6 and rerank.order(rows, {"fused": 0.1, "title": 2.0}) == [1, 0]
